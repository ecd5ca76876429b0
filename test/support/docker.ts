import { execFile } from "node:child_process";
import { join } from "node:path";
import { promisify } from "node:util";
import { makeImage, runOk } from "./skopeo.js";

const execFileAsync = promisify(execFile);

export interface DockerRun {
  ok: boolean;
  stdout: string;
  stderr: string;
}

/**
 * The docker CLI with `env` (each suite gives it a config folder of its own, so a login never touches the
 * user's credentials) and `input` on stdin; 120 s at most, since a pull on a loaded machine is slow.
 */
export async function tryDocker(env: NodeJS.ProcessEnv, args: string[], input?: string): Promise<DockerRun> {
  const pending = execFileAsync("docker", args, { env, timeout: 120_000, encoding: "utf8" });
  pending.child.stdin?.end(input);
  try {
    const { stdout, stderr } = await pending;
    return { ok: true, stdout, stderr };
  } catch (err) {
    const e = err as { stdout?: string; stderr?: string };
    return { ok: false, stdout: e.stdout ?? "", stderr: e.stderr ?? "" };
  }
}

/** `tryDocker` that must succeed: its stdout, or an error carrying both outputs. */
export async function runDocker(env: NodeJS.ProcessEnv, args: string[], input?: string): Promise<string> {
  const r = await tryDocker(env, args, input);
  if (!r.ok) throw new Error(`docker ${args.join(" ")} failed\nstdout: ${r.stdout}\nstderr: ${r.stderr}`);
  return r.stdout;
}

/** An environment for the docker CLI whose HOME and config folder are inside `scratch`. */
export function scratchDockerEnv(scratch: string): NodeJS.ProcessEnv {
  return { PATH: process.env.PATH ?? "/usr/bin:/bin", HOME: scratch, DOCKER_CONFIG: join(scratch, "docker") };
}

/**
 * Loads an image named `name` whose one layer holds `content` into the daemon: mkimg.sh writes it as an OCI
 * layout in `dir`, skopeo turns that into an archive `docker load` takes.
 */
export async function loadImage(
  env: NodeJS.ProcessEnv,
  dir: string,
  name: string,
  content: string,
): Promise<void> {
  const layout = join(dir, "layout");
  await makeImage(layout, content);
  const archive = join(dir, "image.tar");
  await runOk("skopeo", ["copy", `oci:${layout}:latest`, `docker-archive:${archive}:${name}`]);
  await runDocker(env, ["load", "-i", archive]);
}
