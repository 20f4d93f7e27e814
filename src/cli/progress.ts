/**
 * A spinner for calls that can take more than a second (creating a sandbox waits until it runs). It
 * writes to stderr and only when stderr is a terminal: stdout stays clean for `--json` and pipes, and
 * logs and CI output never fill up with carriage returns. It appears after a short delay so fast calls
 * do not flicker, and erases itself when the work settles either way.
 */
const FRAMES = ['⠋', '⠙', '⠹', '⠸', '⠼', '⠴', '⠦', '⠧', '⠇', '⠏'];
const SHOW_AFTER_MS = 250;
const FRAME_MS = 100;

export interface ProgressStream {
  isTTY?: boolean;
  write(text: string): unknown;
}

export async function withProgress<T>(label: string, work: () => Promise<T>, stream: ProgressStream = process.stderr): Promise<T> {
  if (!stream.isTTY) return work();
  const started = Date.now();
  let frame = 0;
  let shown = false;
  const draw = () => {
    shown = true;
    const seconds = Math.floor((Date.now() - started) / 1000);
    stream.write(`\r\u001b[2K${FRAMES[frame++ % FRAMES.length]} ${label}${seconds > 0 ? ` (${seconds}s)` : ''}`);
  };
  let interval: ReturnType<typeof setInterval> | undefined;
  const delay = setTimeout(() => {
    draw();
    interval = setInterval(draw, FRAME_MS);
  }, SHOW_AFTER_MS);
  try {
    return await work();
  } finally {
    clearTimeout(delay);
    if (interval) clearInterval(interval);
    if (shown) stream.write('\r\u001b[2K');
  }
}
