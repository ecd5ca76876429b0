import { execFileSync } from "node:child_process";
import { probeDockerDaemon } from "./global-setup.js";

/**
 * Suites that need a real peer (notary CLI, PostgreSQL, docker, skopeo) run only where it is present.
 * Elsewhere they are skipped with the reason in their name; under CI=true a missing peer is a failure,
 * so a CI machine that lost an install step cannot pass by skipping.
 */
export function describeWithPeer(peer: string, available: boolean, name: string, suite: () => void): void {
  if (available) {
    describe(name, suite);
  } else if (process.env.CI === "true") {
    describe(name, () => {
      it(`has ${peer} available`, () => {
        throw new Error(`${peer} is missing on this CI machine: .ci/run must install and start it`);
      });
    });
  } else {
    const skipSuite = describe.skip;
    skipSuite(`${name} [skipped: needs ${peer}]`, suite);
  }
}

export function commandExists(command: string): boolean {
  try {
    execFileSync("sh", ["-c", `command -v ${command}`], { stdio: "ignore" });
    return true;
  } catch {
    return false;
  }
}

/**
 * Whether a docker daemon answers (the CLI alone is not enough to push or pull). The answer comes from
 * test/support/global-setup.ts, which asked once for the whole run; a file run outside jest's global
 * setup asks for itself.
 */
export function dockerDaemonAnswers(): boolean {
  const probe = process.env.TRUSTDOCK_DOCKERD_PROBE ?? probeDockerDaemon();
  return probe === "up";
}

/** The PostgreSQL server the storage tests run against, when one was started (see .ci/run). */
export function postgresTestUrl(): string | undefined {
  return process.env.TRUSTDOCK_TEST_DATABASE_URL || process.env.TRUSTDOCK_DATABASE_URL || undefined;
}
