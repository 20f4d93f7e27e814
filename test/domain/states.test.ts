import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { IllegalTransition, type StateMachine } from '../../src/domain/states/machine.js';
import { sandboxMachine } from '../../src/domain/states/sandbox.js';
import { taskMachine } from '../../src/domain/states/task.js';
import { workerMachine } from '../../src/domain/states/worker.js';

/** Walk every pair of states: listed edges pass, everything else throws; terminals have no way out. */
function walk<S extends string>(machine: StateMachine<S>): void {
  describe(`${machine.name} state machine`, () => {
    const edges = new Set(machine.edges.map(([a, b]) => `${a}>${b}`));
    it('allows exactly its listed edges', () => {
      for (const from of machine.states) {
        for (const to of machine.states) {
          if (edges.has(`${from}>${to}`)) {
            assert.doesNotThrow(() => machine.assert(from, to));
            assert.equal(machine.can(from, to), true);
          } else {
            assert.throws(() => machine.assert(from, to), IllegalTransition, `${from} → ${to} should be illegal`);
          }
        }
      }
    });
    it('has no edge out of a terminal state and every edge names known states', () => {
      for (const [from, to] of machine.edges) {
        assert.ok(!machine.isTerminal(from), `${from} is terminal but has an edge to ${to}`);
        assert.ok(machine.states.includes(from) && machine.states.includes(to));
      }
    });
    it('reaches every state from the first one', () => {
      const seen = new Set<S>([machine.states[0]!]);
      let grew = true;
      while (grew) {
        grew = false;
        for (const [a, b] of machine.edges) {
          if (seen.has(a) && !seen.has(b)) {
            seen.add(b);
            grew = true;
          }
        }
      }
      assert.deepEqual([...seen].sort(), [...machine.states].sort());
    });
  });
}

walk(taskMachine);
walk(sandboxMachine);
walk(workerMachine);
