import { execFile } from "node:child_process";
import { copyFileSync, existsSync, mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { promisify } from "node:util";
import { commandExists } from "./peers.js";
import { sharedDir } from "./shared.js";

// What the suites that push images with skopeo share: the image maker from the peers, running a command
// to its end, and the CA and credentials files skopeo and the CLI read.

const execFileAsync = promisify(execFile);

/** Writes a small OCI image layout and prints its manifest digest (../shared/peers/mkimg.sh). */
export const MKIMG = join(sharedDir, "peers", "mkimg.sh");

/** Whether skopeo and mkimg.sh are both there, for `describeWithPeer`. */
export function skopeoAndMkimgExist(): boolean {
  return commandExists("skopeo") && existsSync(MKIMG);
}

/** `file args` to its end (60 s at most, stdin closed); its stdout, or an error carrying both outputs. */
export async function runOk(file: string, args: string[]): Promise<string> {
  const pending = execFileAsync(file, args, { timeout: 60_000, encoding: "utf8" });
  pending.child.stdin?.end();
  try {
    return (await pending).stdout;
  } catch (err) {
    const e = err as { stdout?: string; stderr?: string };
    throw new Error(`${file} ${args.join(" ")} failed\nstdout: ${e.stdout}\nstderr: ${e.stderr}`);
  }
}

/** An OCI layout at `layout` whose one image holds `content`; its manifest digest. */
export async function makeImage(layout: string, content: string): Promise<string> {
  return (await runOk("bash", [MKIMG, layout, content])).trim();
}

/** `<scratch>/certs` holding `caCert`: skopeo trusts every *.crt in --cert-dir as a CA for the registry. */
export function certDirTrusting(scratch: string, caCert: string): string {
  const certDir = join(scratch, "certs");
  mkdirSync(certDir);
  copyFileSync(caCert, join(certDir, "ca.crt"));
  return certDir;
}

/** `<scratch>/docker/config.json` with `creds` ("user:password") for `hostPort`, where docker keeps them. */
export function dockerConfigWith(scratch: string, hostPort: string, creds: string): string {
  const dockerConfig = join(scratch, "docker");
  mkdirSync(dockerConfig);
  writeFileSync(
    join(dockerConfig, "config.json"),
    JSON.stringify({ auths: { [hostPort]: { auth: Buffer.from(creds).toString("base64") } } }),
  );
  return dockerConfig;
}

/**
 * `skopeo copy from to`, with `creds` and `certDir` given for each side that is a registry (docker://);
 * `preserveDigests` makes skopeo refuse to change the manifest rather than convert it.
 */
export function skopeoCopy(
  from: string,
  to: string,
  opts: { creds: string; certDir: string; preserveDigests?: boolean },
): Promise<string> {
  const registry = (side: "src" | "dest", ref: string) =>
    ref.startsWith("docker://") ? [`--${side}-creds`, opts.creds, `--${side}-cert-dir`, opts.certDir] : [];
  return runOk("skopeo", [
    "copy",
    ...(opts.preserveDigests ? ["--preserve-digests"] : []),
    ...registry("src", from),
    ...registry("dest", to),
    from,
    to,
  ]);
}
