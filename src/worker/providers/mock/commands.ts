/**
 * The few commands the mock provider emulates, as a pure parse from argv to a script the emulated
 * process plays. Nothing is ever executed: the mock exists for tests and placement benchmarks.
 */

export type MockScript =
  /** Write these chunks, then exit with the code. */
  | { kind: 'print'; stdout: string; stderr: string; exitCode: number }
  /** Exit 0 after this many milliseconds (a timer; killable). */
  | { kind: 'sleep'; ms: number }
  /** Copy stdin to stdout until end of input, then exit 0. */
  | { kind: 'cat' };

export const MOCK_COMMANDS = ['true', 'false', 'echo', 'sleep', 'cat', 'exit'] as const;

export function parseMockCommand(argv: string[]): MockScript {
  const [command = '', ...args] = argv;
  switch (command) {
    case 'true':
      return print('', 0);
    case 'false':
      return print('', 1);
    case 'echo': {
      const noNewline = args[0] === '-n';
      const words = noNewline ? args.slice(1) : args;
      return print(words.join(' ') + (noNewline ? '' : '\n'), 0);
    }
    case 'exit': {
      const code = args.length === 0 ? 0 : Number(args[0]);
      if (!Number.isInteger(code)) return { kind: 'print', stdout: '', stderr: `exit: illegal number: ${args[0]}\n`, exitCode: 2 };
      // A shell's exit status is taken modulo 256.
      return print('', ((code % 256) + 256) % 256);
    }
    case 'sleep': {
      const seconds = Number(args[0]);
      if (args.length !== 1 || !Number.isFinite(seconds) || seconds < 0) {
        return { kind: 'print', stdout: '', stderr: `sleep: invalid time interval ${JSON.stringify(args.join(' '))}\n`, exitCode: 1 };
      }
      return { kind: 'sleep', ms: Math.round(seconds * 1000) };
    }
    case 'cat':
      if (args.length === 0) return { kind: 'cat' };
      return { kind: 'print', stdout: '', stderr: 'cat: the mock provider only copies stdin\n', exitCode: 1 };
    default:
      return {
        kind: 'print',
        stdout: '',
        stderr: `${command}: command not found (the mock provider emulates only ${MOCK_COMMANDS.join(', ')})\n`,
        exitCode: 127,
      };
  }
}

function print(stdout: string, exitCode: number): MockScript {
  return { kind: 'print', stdout, stderr: '', exitCode };
}
