import { execFileSync } from "node:child_process";
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { commandExists, describeWithPeer } from "../support/peers.js";
import { freePort, waitFor } from "../support/processes.js";
import { sharedDir } from "../support/shared.js";
import { TestRepository, type TrustCall } from "../support/trust-repository.js";
import { ADMIN_PASSWORD, startTestTrustdock, type TestTrustdock } from "../support/trustdock.js";

const pgCtl = commandExists("pg_ctl") ? "pg_ctl" : "/usr/lib/postgresql/15/bin/pg_ctl";
const havePostgres =
  existsSync(join(sharedDir, "peers", "postgres-up.sh")) && (commandExists("pg_ctl") || existsSync(pgCtl));

// A PostgreSQL of its own, so restarting it disturbs no other test.
describeWithPeer(
  "PostgreSQL server binaries",
  havePostgres,
  "PostgreSQL restarted under a running server",
  () => {
    const dir = mkdtempSync(join(tmpdir(), "trustdock-pg-restart-"));
    let td: TestTrustdock;
    const pg = (action: string) =>
      execFileSync("su", ["postgres", "-c", `${pgCtl} -D ${dir}/data -w -m fast ${action}`], {
        stdio: "ignore",
      });

    let port: number;
    // postgres-up.sh starts the cluster with its port and socket options, which a bare `pg_ctl start` lacks.
    const startPostgres = () =>
      execFileSync("bash", [join(sharedDir, "peers", "postgres-up.sh"), String(port), dir])
        .toString()
        .trim()
        .split("\n")
        .pop() as string;

    beforeAll(async () => {
      port = await freePort();
      td = await startTestTrustdock({ databaseUrl: startPostgres() });
    }, 60_000);
    afterAll(async () => {
      await td?.close();
      try {
        pg("stop");
      } catch {
        // already stopped
      }
      rmSync(dir, { recursive: true, force: true });
    });

    it("answers 503 while PostgreSQL is down and recovers by itself once it is back", async () => {
      const gun = `${td.hostPort}/library/pgrestart`;
      const auth = { authorization: `Basic ${Buffer.from(`admin:${ADMIN_PASSWORD}`).toString("base64")}` };
      const call: TrustCall = async (method, path, body) => {
        const res = await td.app.inject({
          method,
          url: `/v2/${gun}/_trust/${path}`,
          headers: { ...auth, ...(body ? { "content-type": body.contentType } : {}) },
          ...(body ? { payload: body.body } : {}),
        });
        return { status: res.statusCode, body: res.rawPayload };
      };
      const repo = await TestRepository.create(call);

      pg("stop");
      const down = await call("GET", "tuf/root.json");
      expect(down.status).toBe(503);
      expect(JSON.parse(down.body.toString()).errors[0].code).toBe("UNAVAILABLE");

      startPostgres();
      await waitFor(
        "reads after the restart",
        async () => ((await call("GET", "tuf/root.json")).status === 200 ? true : undefined),
        20_000,
      );
      expect((await repo.publishTargets(2, {})).status).toBe(200);
      expect(JSON.parse((await call("GET", "tuf/targets.json")).body.toString()).signed.version).toBe(2);
    }, 90_000);
  },
);
