import { MailError } from "../mail_error.ts";

/**
 * A failed delivery instruction, carrying qmail-local's wording and its
 * permanence: temporary → qmail-local exits 111 (report Z), permanent → 100
 * (report D). The text is qmail's sentence without the trailing LF; it goes
 * into the delivery report, so it is the peer text and the log's reason.
 */
export class DeliveryError extends MailError {
  constructor(temporary: boolean, text: string, options?: ErrorOptions) {
    super(text, { ...options, temporary });
    this.name = "DeliveryError";
  }
}

/**
 * qmail's error_str wording for the errors a delivery meets, so texts read
 * "Unable to open FILE: file does not exist. (#4.2.1)" as qmail's do.
 */
export function errorText(error: unknown): string {
  const code = (error as { code?: string })?.code;
  switch (code) {
    case "ENOENT":
      return "file does not exist";
    case "EACCES":
      return "access denied";
    case "EPERM":
      return "permission denied";
    case "ENOTDIR":
      return "not a directory";
    case "EISDIR":
      return "is a directory";
    case "EEXIST":
      return "file already exists";
    case "ENOSPC":
      return "out of disk space";
    case "EDQUOT":
      return "disk quota exceeded";
    case "EROFS":
      return "read-only file system";
    case "EIO":
      return "input/output error";
    case "ELOOP":
      return "symbolic link loop";
    case "ENAMETOOLONG":
      return "file name too long";
    case "EMFILE":
    case "ENFILE":
      return "out of file descriptors";
    case "ENOMEM":
      return "out of memory";
    case "ETXTBSY":
      return "text busy";
    case "EAGAIN":
      return "temporary failure";
    case "ESTALE":
      return "stale NFS file handle";
  }
  if (error instanceof Deno.errors.NotFound) return "file does not exist";
  if (error instanceof Deno.errors.PermissionDenied) return "access denied";
  if (error instanceof Deno.errors.NotCapable) return "not allowed by the role's permissions";
  return (error as Error)?.message ?? String(error);
}

/**
 * Whether a file system error means the disk quota was exceeded (docs/patches.md seed 000
 * README.quota).
 */
export function isQuotaError(error: unknown): boolean {
  return (error as { code?: string })?.code === "EDQUOT";
}
