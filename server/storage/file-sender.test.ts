import { randomBytes } from "node:crypto";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { type FileHandle, open } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Writable } from "node:stream";
import { SEND_CHUNK_BYTES, sendFileRange } from "./file-sender.js";

/** A slow socket: takes its time over each write and keeps what the bytes were when it called back. */
function slowSink(delayMs = 2): { out: Writable; received: () => Buffer } {
  const parts: Buffer[] = [];
  const out = new Writable({
    write(chunk: Buffer, _encoding, done) {
      setTimeout(() => {
        parts.push(Buffer.from(chunk));
        done();
      }, delayMs);
    },
  });
  return { out, received: () => Buffer.concat(parts) };
}

describe("sendFileRange", () => {
  let dir: string;
  let file: FileHandle;
  const content = randomBytes(3 * SEND_CHUNK_BYTES + 4321);

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), "trustdock-file-sender-"));
    writeFileSync(join(dir, "blob"), content);
    file = await open(join(dir, "blob"), "r");
  });
  afterAll(async () => {
    await file.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it("sends the whole file byte for byte, never reusing a buffer the socket still holds", async () => {
    const sink = slowSink();
    await sendFileRange(file, sink.out, 0, content.length - 1);
    expect(sink.received().equals(content)).toBe(true);
  });

  it("sends exactly the range asked for", async () => {
    const sink = slowSink(0);
    const [start, end] = [SEND_CHUNK_BYTES - 10, 2 * SEND_CHUNK_BYTES + 10];
    await sendFileRange(file, sink.out, start, end);
    expect(sink.received().equals(content.subarray(start, end + 1))).toBe(true);
  });

  it("rejects when the file ends before the range does", async () => {
    const sink = slowSink(0);
    await expect(sendFileRange(file, sink.out, content.length - 5, content.length + 5)).rejects.toThrow(
      "the file ended before the range did",
    );
  });

  it("stops, rejecting, when the connection closes midway", async () => {
    const sink = slowSink(20);
    const sending = sendFileRange(file, sink.out, 0, content.length - 1);
    setTimeout(() => sink.out.destroy(), 5);
    await expect(sending).rejects.toThrow("the connection closed before the body was sent");
    expect(sink.received().length).toBeLessThan(content.length);
  });
});
