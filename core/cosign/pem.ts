/** PEM blocks as Go's encoding/pem writes and reads them: 64-column base64 between BEGIN/END lines. */
export class PemError extends Error {
  override readonly name = "PemError";
}

export interface PemBlock {
  type: string;
  bytes: Uint8Array;
}

export function encodePem(type: string, bytes: Uint8Array): string {
  const base64 = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString("base64");
  const lines = base64.match(/.{1,64}/g) ?? [];
  return `-----BEGIN ${type}-----\n${lines.join("\n")}${lines.length ? "\n" : ""}-----END ${type}-----\n`;
}

const BLOCK = /-----BEGIN ([A-Z0-9 ]+)-----\r?\n([\s\S]*?)-----END ([A-Z0-9 ]+)-----/g;

/** Every PEM block in the text, in order; text between blocks is ignored, as pem.Decode skips it. */
export function decodePemBlocks(text: string): PemBlock[] {
  const blocks: PemBlock[] = [];
  for (const match of text.matchAll(BLOCK)) {
    const [, type = "", body = "", endType] = match;
    if (type !== endType) throw new PemError(`PEM block BEGIN ${type} ends with END ${endType}`);
    if (/^[A-Za-z-]+:/m.test(body))
      throw new PemError(`PEM block ${type} carries headers, which cosign never writes`);
    const base64 = body.replace(/\s+/g, "");
    if (!/^[A-Za-z0-9+/]*={0,2}$/.test(base64) || base64.length % 4 !== 0)
      throw new PemError(`PEM block ${type} is not base64`);
    blocks.push({ type, bytes: new Uint8Array(Buffer.from(base64, "base64")) });
  }
  return blocks;
}

export function decodePem(text: string): PemBlock {
  const [first] = decodePemBlocks(text);
  if (!first) throw new PemError("no PEM block found");
  return first;
}
