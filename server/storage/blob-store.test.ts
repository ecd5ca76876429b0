import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { PassThrough, Readable } from "node:stream";
import { text } from "node:stream/consumers";
import { BlobStore, UploadFileMissingError } from "./blob-store.js";

const DIGEST = `sha256:${"ab".repeat(32)}`;

describe("BlobStore", () => {
  let root: string;
  let store: BlobStore;

  beforeEach(async () => {
    root = mkdtempSync(join(tmpdir(), "trustdock-blob-store-"));
    store = await BlobStore.open(root);
  });
  afterEach(() => rmSync(root, { recursive: true, force: true }));

  it("keeps blobs at <algorithm>/<2 hex>/<hex>", () => {
    expect(store.blobPath(DIGEST)).toBe(join(root, "sha256", "ab", "ab".repeat(32)));
  });

  it("writes chunks at their offsets and commits exactly the recorded size", async () => {
    await store.createUpload("u1");
    expect(await store.writeUpload("u1", 0, Readable.from([Buffer.from("abcdef")]))).toBe(6);
    // A rewrite from an earlier offset (a retried chunk) overwrites what was there.
    expect(await store.writeUpload("u1", 2, Readable.from([Buffer.from("XY")]))).toBe(2);
    expect(await text(store.readUpload("u1", 4))).toBe("abXY");

    await store.commitUpload("u1", DIGEST, 4);
    expect(readFileSync(store.blobPath(DIGEST), "utf8")).toBe("abXY");
    expect(await store.size(DIGEST)).toBe(4);
    expect(readdirSync(join(root, "uploads"))).toEqual([]);
  });

  it("shows no blob until the upload is committed", async () => {
    await store.createUpload("u2");
    const body = new PassThrough();
    const writing = store.writeUpload("u2", 0, body);
    body.write("half of it");
    await new Promise((r) => setTimeout(r, 20));
    expect(existsSync(store.blobPath(DIGEST))).toBe(false);
    expect(await store.size(DIGEST)).toBeUndefined();
    body.end(" and the rest");
    await writing;
    await store.commitUpload("u2", DIGEST, 23);
    expect(readFileSync(store.blobPath(DIGEST), "utf8")).toBe("half of it and the rest");
  });

  it("lets observe see every byte as it passes", async () => {
    await store.createUpload("u3");
    const seen: string[] = [];
    await store.writeUpload("u3", 0, Readable.from([Buffer.from("one"), Buffer.from("two")]), (b) =>
      seen.push(b.toString()),
    );
    expect(seen.join("")).toBe("onetwo");
  });

  it("opens a blob for reading, and reads an empty upload as nothing", async () => {
    await store.createUpload("u4");
    await store.writeUpload("u4", 0, Readable.from([Buffer.from("0123456789")]));
    await store.commitUpload("u4", DIGEST, 10);
    const file = await store.open(DIGEST);
    try {
      expect((await file.readFile()).toString()).toBe("0123456789");
    } finally {
      await file.close();
    }

    await store.createUpload("u5");
    expect(await text(store.readUpload("u5", 0))).toBe("");
  });

  it("says an upload that is gone is gone", async () => {
    await expect(store.writeUpload("gone", 0, Readable.from([Buffer.from("x")]))).rejects.toBeInstanceOf(
      UploadFileMissingError,
    );
    await expect(store.commitUpload("gone", DIGEST, 1)).rejects.toBeInstanceOf(UploadFileMissingError);
    await expect(store.removeUpload("gone")).resolves.toBeUndefined();
  });

  it("accepts no digest or upload id that could name a file outside the store", () => {
    for (const digest of ["sha256:../../etc/passwd", "../sha256:ab", "sha256:AB", "sha256"])
      expect(() => store.blobPath(digest)).toThrow();
    for (const id of ["../x", "a/b", "", "x".repeat(65)]) expect(() => store.uploadPath(id)).toThrow();
  });
});
