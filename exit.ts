// Every exit code the program ends with (docs/reference.md lists them; tests/docs.test.ts keeps that true),
// and the one line a failure prints on stderr: JSON when stderr is not a terminal (log collectors), a
// sentence otherwise. Download failures add their own codes (storage/errors.ts EXIT_CODES, 3-16).
import process from "node:process";

export const EXIT = {
  ok: 0,
  /** An unexpected error (a bug): the line says what failed. */
  fatal: 1,
  usage: 2,
  /** A local file or directory could not be written (permissions, read-only, a file where a directory goes). */
  localIo: 16,
  /** --host is not an address of this machine. */
  addressNotLocal: 68,
  /** The port is taken by another process. */
  addressInUse: 69,
  /** The Unix socket (AIRUNTIME_UNIX_SOCKET) cannot be created at that path. */
  socketPath: 73,
  config: 78,
  interrupted: 130,
} as const;

/** One failure, ready to print: why, what to do, and the code the process exits with. */
export interface Failure {
  reason: string;
  message: string;
  exitCode: number;
  fields?: Record<string, unknown>;
}

/** Write one line for a failure to stderr: JSON when stderr is not a terminal, a sentence when it is. */
export function printFailure(
  f: Failure,
  opts: { tty?: boolean; write?: (s: string) => void; prefix?: string } = {},
): void {
  const tty = opts.tty ?? process.stderr.isTTY === true;
  const write = opts.write ?? ((s: string) => void process.stderr.write(s));
  const oneLine = f.message.replace(/\s*\n\s*/g, "; ");
  if (tty) write(`${opts.prefix ?? "airuntime"}: error: ${oneLine}\n`);
  else
    write(
      `${JSON.stringify({
        ts: new Date().toISOString(),
        level: "error",
        msg: oneLine,
        reason: f.reason,
        exit_code: f.exitCode,
        app: "airuntime",
        ...f.fields,
      })}\n`,
    );
}

const errnoOf = (e: unknown): string | undefined => {
  const c = (e as { code?: unknown } | null)?.code;
  return typeof c === "string" ? c : undefined;
};

/** A failure to open the listening socket, named for a person (null when `e` is something else). */
export function listenFailure(
  e: unknown,
  where: { host: string; port: number; unix?: string },
): Failure | null {
  const code = errnoOf(e);
  const syscall = (e as { syscall?: unknown } | null)?.syscall;
  if (!code || (syscall !== "listen" && syscall !== "bind" && !/listen|bind/.test(String(e)))) return null;
  if (where.unix) {
    const why =
      code === "ENOENT"
        ? "its directory does not exist"
        : code === "EACCES" || code === "EPERM"
          ? `permission denied for uid ${process.getuid?.() ?? "?"}`
          : code === "EADDRINUSE"
            ? "another process is listening on it"
            : code === "ENAMETOOLONG" || code === "EINVAL"
              ? "the path is too long for a Unix socket (at most 107 bytes)"
              : code;
    return {
      reason: "socket_path",
      exitCode: EXIT.socketPath,
      message: `cannot create the Unix socket ${where.unix}: ${why} (AIRUNTIME_UNIX_SOCKET)`,
      fields: { path: where.unix, errno: code },
    };
  }
  if (code === "EADDRINUSE")
    return {
      reason: "address_in_use",
      exitCode: EXIT.addressInUse,
      message: `port ${where.port} on ${where.host} is already in use by another process; stop it or choose another with --port (or PORT)`,
      fields: { host: where.host, port: where.port },
    };
  if (code === "EADDRNOTAVAIL" || code === "ENOENT" || code === "EAI_NONAME" || code === "ENOTFOUND")
    return {
      reason: "address_not_local",
      exitCode: EXIT.addressNotLocal,
      message: `cannot listen on ${where.host}: not an address of this machine; use 0.0.0.0 (all interfaces), 127.0.0.1 or one of this host's addresses with --host`,
      fields: { host: where.host, port: where.port },
    };
  if (code === "EACCES")
    return {
      reason: "address_in_use",
      exitCode: EXIT.addressInUse,
      message: `port ${where.port} on ${where.host} needs privileges this process does not have; use a port above 1023`,
      fields: { host: where.host, port: where.port },
    };
  return null;
}

const LOCAL_WHY: Record<string, string> = {
  EACCES: "permission denied",
  EPERM: "operation not permitted",
  EROFS: "the filesystem is read-only",
  ENOTDIR: "a part of the path is a regular file, not a directory",
  EISDIR: "a directory is where a file should go",
  EEXIST: "something else already exists at that path",
  ELOOP: "too many symbolic links",
  ENAMETOOLONG: "the name is too long",
};

/** Error codes of local file-system failures that no retry fixes (ENOSPC is a failure of its own: no space). */
export const LOCAL_IO_CODES = new Set(Object.keys(LOCAL_WHY));

/** A local file-system error as a sentence naming the path, the user and the fix; null for anything else. */
export function describeLocalIo(e: unknown): { code: string; path?: string; message: string } | null {
  const code = errnoOf(e);
  if (!code || !LOCAL_IO_CODES.has(code)) return null;
  const path = (e as { path?: unknown }).path;
  const p = typeof path === "string" ? path : undefined;
  const uid = process.getuid?.();
  const gid = process.getgid?.();
  const who = uid === undefined ? "" : ` (running as uid ${uid}, gid ${gid})`;
  const fix =
    code === "EACCES" || code === "EPERM"
      ? `; make it writable for this user, e.g. on Kubernetes set the pod's securityContext.fsGroup${gid === undefined ? "" : ` to ${gid}`} so the volume is group-writable`
      : code === "EROFS"
        ? "; mount the volume read-write, or choose a writable directory"
        : code === "ENOTDIR"
          ? "; remove that file or choose another directory"
          : "";
  return { code, path: p, message: `cannot write ${p ?? "a local file"}: ${LOCAL_WHY[code]}${who}${fix}` };
}
