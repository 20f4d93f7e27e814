/**
 * A tiny helper for the explicit state machines: each lifecycle lists its edges once, and `assert`
 * throws on an edge that is not in the list. Illegal transitions are bugs, so they throw rather than
 * return a value someone might ignore.
 */
export class IllegalTransition extends Error {
  constructor(machine: string, from: string, to: string) {
    super(`illegal ${machine} transition ${from} → ${to}`);
    this.name = 'IllegalTransition';
  }
}

export interface StateMachine<S extends string> {
  readonly name: string;
  readonly states: readonly S[];
  readonly terminal: readonly S[];
  readonly edges: ReadonlyArray<readonly [S, S]>;
  can(from: S, to: S): boolean;
  assert(from: S, to: S): void;
  isTerminal(state: S): boolean;
}

export function defineMachine<S extends string>(
  name: string,
  states: readonly S[],
  terminal: readonly S[],
  edges: ReadonlyArray<readonly [S, S]>,
): StateMachine<S> {
  const allowed = new Set(edges.map(([a, b]) => `${a}>${b}`));
  return {
    name,
    states,
    terminal,
    edges,
    can: (from, to) => allowed.has(`${from}>${to}`),
    assert(from, to) {
      if (!allowed.has(`${from}>${to}`)) throw new IllegalTransition(name, from, to);
    },
    isTerminal: (state) => terminal.includes(state),
  };
}
