import { execFileSync } from "node:child_process";

/**
 * Probes the docker daemon once, before any worker starts, and hands the answer to every test file
 * through the environment. Probing from each file at import time raced the other suites for the two
 * cores: a daemon that was up but busy loading images missed the probe's deadline and a suite failed
 * as if dockerd were missing. Jest loads this file without its module mapping, so it imports nothing
 * of ours.
 */
export default function globalSetup(): void {
  const probe = probeDockerDaemon();
  process.env.TRUSTDOCK_DOCKERD_PROBE = probe;
  if (probe !== "up") console.warn(`\ndocker daemon: ${probe}`);
}

/** "up", or why no daemon answered; retried because a daemon busy with another suite answers slowly. */
export function probeDockerDaemon(): string {
  let reason = "";
  for (let attempt = 0; attempt < 3; attempt++) {
    try {
      execFileSync("docker", ["info"], { stdio: ["ignore", "ignore", "pipe"], timeout: 30_000 });
      return "up";
    } catch (err) {
      const e = err as { code?: string; stderr?: Buffer; message: string };
      if (e.code === "ENOENT") return "no docker CLI on PATH";
      reason = e.stderr?.toString().trim() || e.message;
    }
  }
  return `docker info failed: ${reason}`;
}
