/** An error answer from the Drover API, with its stable code (02-api.md) and request id. */
export class DroverApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly details: Record<string, unknown> | undefined,
    readonly requestId: string | undefined,
  ) {
    super(message);
    this.name = 'DroverApiError';
  }
}

/** The control plane could not be reached at all. */
export class DroverConnectionError extends Error {
  constructor(url: string, cause: unknown) {
    super(`cannot reach the Drover control plane at ${url}: ${cause instanceof Error ? cause.message : String(cause)}`);
    this.name = 'DroverConnectionError';
  }
}
