import { randomBytes } from "node:crypto";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { type FileHandle, open } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { PassThrough, Readable } from "node:stream";
import { GATHER_BYTES, SYNC_EVERY_BYTES, writeGathered } from "./gathered-write.js";

describe("writeGathered", () => {
  let dir: string;
  let path: string;
  let file: FileHandle;

  beforeEach(async () => {
    dir = mkdtempSync(join(tmpdir(), "trustdock-gathered-write-"));
    path = join(dir, "upload");
    writeFileSync(path, "");
    file = await open(path, "r+");
  });
  afterEach(async () => {
    await file.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it("writes a body of many small chunks byte for byte, past several gathers and syncs", async () => {
    const body = randomBytes(SYNC_EVERY_BYTES + 3 * GATHER_BYTES + 12345);
    const chunks: Buffer[] = [];
    for (let at = 0; at < body.length; at += 16 * 1024 + 7)
      chunks.push(body.subarray(at, at + 16 * 1024 + 7));
    let observed = 0;
    const written = await writeGathered(Readable.from(chunks), file, 0, (chunk) => {
      observed += chunk.length;
    });
    expect(written).toBe(body.length);
    expect(observed).toBe(body.length);
    expect(readFileSync(path).equals(body)).toBe(true);
  });

  it("writes from the position given, over what was there", async () => {
    writeFileSync(path, "0123456789");
    expect(
      await writeGathered(Readable.from([Buffer.from("ab"), Buffer.from("cd")]), file, 3, undefined),
    ).toBe(4);
    expect(readFileSync(path, "utf8")).toBe("012abcd789");
  });

  it("writes nothing for an empty body", async () => {
    expect(await writeGathered(Readable.from([]), file, 0)).toBe(0);
    expect(readFileSync(path).length).toBe(0);
  });

  it("rejects when the body fails midway, with no write left using the file", async () => {
    const body = new PassThrough();
    const writing = writeGathered(body, file, 0);
    body.write(randomBytes(GATHER_BYTES + 1));
    await new Promise((r) => setImmediate(r));
    body.destroy(new Error("the client hung up"));
    await expect(writing).rejects.toThrow("the client hung up");
    // Closing here (afterEach) while a write were still in flight would fail it with EBADF.
  });

  it("rejects when the file cannot be written, and stops reading the body", async () => {
    const readOnly = await open(path, "r");
    const body = Readable.from([randomBytes(GATHER_BYTES), randomBytes(GATHER_BYTES)]);
    try {
      await expect(writeGathered(body, readOnly, 0)).rejects.toMatchObject({ code: "EBADF" });
      expect(body.destroyed).toBe(true);
    } finally {
      await readOnly.close();
    }
  });
});
