/**
 * An incremental Server-Sent Events parser (the WHATWG "event stream interpretation" rules, minus the
 * browser parts): text goes in as it arrives, complete events come out. Lines end in CRLF, LF or CR; a
 * CR at the very end of a chunk is held back because the LF that would make it a CRLF may be in the
 * next chunk. Comment lines (keepalives) and `retry:` produce no event.
 */
export interface SseMessage {
  /** The last `id:` seen so far in the stream (ids persist across events, per the spec). */
  id: string | undefined;
  event: string;
  data: string;
}

const LINE_END = /\r\n|\r|\n/;

export class SseParser {
  /** The stream's last event id: what a reconnect sends as `Last-Event-ID`. */
  lastEventId: string | undefined;
  /** The server's reconnection delay hint, in ms. */
  retryMs: number | undefined;
  private buffer = '';
  private data: string[] | undefined;
  private event = '';

  push(text: string): SseMessage[] {
    this.buffer += text;
    const out: SseMessage[] = [];
    for (;;) {
      const m = LINE_END.exec(this.buffer);
      if (!m) break;
      if (m[0] === '\r' && m.index === this.buffer.length - 1) break;
      const line = this.buffer.slice(0, m.index);
      this.buffer = this.buffer.slice(m.index + m[0].length);
      const message = this.line(line);
      if (message) out.push(message);
    }
    return out;
  }

  private line(line: string): SseMessage | undefined {
    if (line === '') {
      // A blank line dispatches; without any `data:` there is nothing to dispatch (e.g. `retry:` alone).
      const data = this.data;
      const event = this.event || 'message';
      this.data = undefined;
      this.event = '';
      return data === undefined ? undefined : { id: this.lastEventId, event, data: data.join('\n') };
    }
    if (line.startsWith(':')) return undefined;
    const colon = line.indexOf(':');
    const field = colon < 0 ? line : line.slice(0, colon);
    let value = colon < 0 ? '' : line.slice(colon + 1);
    if (value.startsWith(' ')) value = value.slice(1);
    if (field === 'data') (this.data ??= []).push(value);
    else if (field === 'event') this.event = value;
    else if (field === 'id' && !value.includes('\u0000')) this.lastEventId = value;
    else if (field === 'retry' && /^\d+$/.test(value)) this.retryMs = Number(value);
    return undefined;
  }
}
