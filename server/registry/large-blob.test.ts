import { type ChildProcess, spawn } from "node:child_process";
import { createHash, randomBytes } from "node:crypto";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { request } from "node:https";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Readable } from "node:stream";
import { pipeline } from "node:stream/promises";
import { TRUSTDOCK_BIN } from "../../test/support/cli.js";
import { describeOnEachDatabase } from "../../test/support/databases.js";
import { httpsRequest } from "../../test/support/http.js";
import { freePort, waitFor } from "../../test/support/processes.js";
import { ADMIN_PASSWORD } from "../../test/support/trustdock.js";
import { basicAuth } from "./testing/registry-client.js";

const ADMIN_BASIC = basicAuth("admin", ADMIN_PASSWORD);

const GIB = 1024 ** 3;
const MIB = 1024 ** 2;
const MEMORY_LIMIT = 200 * MIB;
const TEST_TIMEOUT_MS = 600_000;

/** `size` bytes of one repeated random mebibyte, generated as it is read: the client holds 1 MiB at most. */
function generated(size: number): { stream: () => Readable; digest: string } {
  const block = randomBytes(MIB);
  const chunks = function* () {
    for (let sent = 0; sent < size; sent += MIB) yield block.subarray(0, Math.min(MIB, size - sent));
  };
  const hash = createHash("sha256");
  for (const chunk of chunks()) hash.update(chunk);
  return { stream: () => Readable.from(chunks()), digest: `sha256:${hash.digest("hex")}` };
}

/** The server process's resident memory and its peak since the last reset, from /proc. */
function memory(pid: number): { rss: number; peak: number } {
  const status = readFileSync(`/proc/${pid}/status`, "utf8");
  const kib = (field: string) => Number(new RegExp(`^${field}:\\s+(\\d+) kB`, "m").exec(status)?.[1]) * 1024;
  return { rss: kib("VmRSS"), peak: kib("VmHWM") };
}

function resetPeak(pid: number): void {
  // Writing 5 to clear_refs resets VmHWM to the current RSS (Linux 4.0+).
  writeFileSync(`/proc/${pid}/clear_refs`, "5");
}

describeOnEachDatabase("a 1 GiB blob through a separate trustdock server process", (databases) => {
  let server: ChildProcess;
  let dataDir: string;
  let url: string;
  let ca: Buffer;
  let disposeDb: () => Promise<void>;
  let blob: ReturnType<typeof generated>;

  beforeAll(async () => {
    blob = generated(GIB);
    const target = await databases.create();
    disposeDb = target.dispose;
    dataDir = mkdtempSync(join(tmpdir(), "trustdock-large-blob-"));
    const port = await freePort();
    url = `https://127.0.0.1:${port}`;
    server = spawn(process.execPath, [TRUSTDOCK_BIN, "server"], {
      env: {
        ...process.env,
        TRUSTDOCK_DATA_DIR: dataDir,
        TRUSTDOCK_ADDR: `127.0.0.1:${port}`,
        TRUSTDOCK_ADMIN_PASSWORD: ADMIN_PASSWORD,
        // The registry never signs; the signer is never reached.
        TRUSTDOCK_SIGNER_URL: "https://127.0.0.1:9",
        ...(target.url ? { TRUSTDOCK_DATABASE_URL: target.url } : {}),
      },
      stdio: ["ignore", "ignore", "inherit"],
    });
    await waitFor("trustdock server answering", async () => {
      ca = readFileSync(join(dataDir, "tls", "ca.crt"));
      const res = await httpsRequest({ url: `${url}/v2/`, ca, timeoutMs: 1000 });
      return res.status === 401 ? true : undefined;
    });
  }, 60_000);
  afterAll(async () => {
    server?.kill("SIGKILL");
    rmSync(dataDir, { recursive: true, force: true });
    await disposeDb();
  });

  /** Streams `body` as the request body; resolves with the status and the headers. */
  function send(method: string, path: string, body: Readable, headers: Record<string, string> = {}) {
    return new Promise<{ status: number; headers: Record<string, unknown> }>((resolve, reject) => {
      const req = request(
        `${url}${path}`,
        {
          method,
          ca,
          headers: { authorization: ADMIN_BASIC, "content-type": "application/octet-stream", ...headers },
        },
        (res) => {
          res.resume();
          res.on("end", () => resolve({ status: res.statusCode ?? 0, headers: res.headers }));
        },
      );
      req.on("error", reject);
      pipeline(body, req).catch(reject);
    });
  }

  /** Streams the blob back and hashes it as it comes. */
  function fetchDigest(path: string) {
    return new Promise<{ status: number; digest: string; size: number }>((resolve, reject) => {
      request(`${url}${path}`, { ca, headers: { authorization: ADMIN_BASIC } }, (res) => {
        const hash = createHash("sha256");
        let size = 0;
        res.on("data", (chunk: Buffer) => {
          size += chunk.length;
          hash.update(chunk);
        });
        res.on("end", () =>
          resolve({ status: res.statusCode ?? 0, digest: `sha256:${hash.digest("hex")}`, size }),
        );
        res.on("error", reject);
      })
        .on("error", reject)
        .end();
    });
  }

  /**
   * Runs `work` and checks the server's memory meanwhile: it may rise by less than the limit, and on
   * PostgreSQL, where the server process holds nothing else, stay under it. (Embedded PGlite alone keeps
   * several hundred MiB resident, so there only the rise says anything about the registry.)
   */
  async function withinMemoryLimit(work: () => Promise<void>): Promise<void> {
    const pid = server.pid ?? 0;
    resetPeak(pid);
    const before = memory(pid).rss;
    await work();
    const { peak } = memory(pid);
    expect(peak - before).toBeLessThan(MEMORY_LIMIT);
    if (databases.driver === "postgres") expect(peak).toBeLessThan(MEMORY_LIMIT);
  }

  it(
    "pushes it in one POST and pulls it back, within 200 MiB of server memory each way",
    async () => {
      const repo = "library/large";
      await withinMemoryLimit(async () => {
        const res = await send("POST", `/v2/${repo}/blobs/uploads/?digest=${blob.digest}`, blob.stream(), {
          "content-length": String(GIB),
        });
        expect(res.status).toBe(201);
      });

      await withinMemoryLimit(async () => {
        const pulled = await fetchDigest(`/v2/${repo}/blobs/${blob.digest}`);
        expect(pulled).toEqual({ status: 200, digest: blob.digest, size: GIB });
      });
    },
    TEST_TIMEOUT_MS,
  );

  it(
    "takes it as one streamed PATCH (as docker sends it) and verifies it on the closing PUT",
    async () => {
      const repo = "library/large-chunked";
      await withinMemoryLimit(async () => {
        const start = await httpsRequest({
          url: `${url}/v2/${repo}/blobs/uploads/`,
          method: "POST",
          headers: { authorization: ADMIN_BASIC },
          ca,
        });
        const location = String(start.headers.location);
        const patch = await send("PATCH", location, blob.stream());
        expect(patch.headers.range).toBe(`0-${GIB - 1}`);
        const put = await httpsRequest({
          url: `${url}${location}?digest=${blob.digest}`,
          method: "PUT",
          headers: { authorization: ADMIN_BASIC },
          ca,
          timeoutMs: 120_000,
        });
        expect(put.status).toBe(201);
      });
    },
    TEST_TIMEOUT_MS,
  );
});
