/** A notary publish body: one multipart file part per role, built by the platform's own FormData encoder. */
export async function publishBody(
  files: ReadonlyArray<{ role: string; bytes: Uint8Array }>,
): Promise<{ body: Buffer; contentType: string }> {
  const form = new FormData();
  for (const f of files) form.append("files", new Blob([f.bytes]), f.role);
  const encoded = new Response(form);
  return {
    body: Buffer.from(await encoded.arrayBuffer()),
    contentType: encoded.headers.get("content-type") ?? "",
  };
}
