/**
 * Pairing: two devices meet in a room derived from a one-time secret, compare a six-digit code,
 * and the joiner gets the workspace's epoch key, sealed so that only it can open it.
 *
 * Invariants checked:
 * 1. Both sides compute the same code; the joiner receives the inviter's epoch key; the inviter
 *    learns the joiner's device and name.
 * 2. Someone who saw the link and sits between them (a relay, a shoulder-surfer with the link)
 *    makes the two codes differ, so the people comparing them do not confirm.
 * 3. A declined code shares nothing; a changed welcome is refused; an expired or damaged link is
 *    refused with a sentence.
 */
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import * as Y from 'yjs';
import { invitationText, invite, join, mapMailbox, newInvitation, parseInvitation, PAIR_MAP, type Mailbox } from '../../../worker/sync/pairing.ts';
import { newEpochKey } from '../../../worker/sync/keys.ts';

/** Two copies of one room's document, kept in step (what the relay does). */
function linkedBoxes(): [Mailbox, Mailbox] {
  const a = new Y.Doc();
  const b = new Y.Doc();
  a.on('update', (u: Uint8Array, origin: unknown) => { if (origin !== 'peer') Y.applyUpdate(b, u, 'peer'); });
  b.on('update', (u: Uint8Array, origin: unknown) => { if (origin !== 'peer') Y.applyUpdate(a, u, 'peer'); });
  return [mapMailbox(a.getMap(PAIR_MAP)), mapMailbox(b.getMap(PAIR_MAP))];
}

const NOW = Date.UTC(2026, 11, 7, 12);

describe('pairing', () => {
  test('both sides show the same code; the joiner gets the epoch key; the inviter learns who joined', async () => {
    const inv = newInvitation('wss://relay.example', 'dev-laptop', NOW);
    const parsed = parseInvitation(invitationText(inv), NOW + 1000);
    assert.ok(parsed.ok);
    const [boxA, boxB] = linkedBoxes();
    const epochKey = newEpochKey();
    const codes: string[] = [];
    const [a, b] = await Promise.all([
      invite(inv, boxA, { device: 'dev-laptop', name: 'Laptop' }, [{ epoch: 1, key: epochKey }], async (code, joiner) => { codes.push(code); assert.equal(joiner.name, 'Tablet'); return true; }),
      join(parsed.invitation, boxB, { device: 'dev-tablet', name: 'Tablet' }, async (code, inviter) => { codes.push(code); assert.equal(inviter.name, 'Laptop'); return true; }),
    ]);
    assert.match(codes[0]!, /^\d{6}$/);
    assert.equal(codes[0], codes[1]);
    assert.ok(a.ok && b.ok);
    assert.deepEqual(a.joiner, { device: 'dev-tablet', name: 'Tablet' });
    assert.deepEqual(Array.from(b.epochKey), Array.from(epochKey));
    assert.equal(b.relay, 'wss://relay.example');
  });

  test('someone in the middle with the link makes the codes differ', async () => {
    const inv = newInvitation('wss://relay.example', 'dev-laptop', NOW);
    const [inviterBox, attackerSideA] = linkedBoxes();
    const [attackerSideB, joinerBox] = linkedBoxes();
    const seen: Record<string, string> = {};
    const stop = new AbortController();
    const decline = (who: string) => async (code: string) => { seen[who] = code; return false; };
    await Promise.all([
      invite(inv, inviterBox, { device: 'dev-laptop', name: 'Laptop' }, [{ epoch: 1, key: newEpochKey() }], decline('inviter'), stop.signal),
      join(inv, attackerSideA, { device: 'dev-mallory', name: 'Tablet' }, decline('attacker-as-joiner'), stop.signal),
      invite(inv, attackerSideB, { device: 'dev-mallory', name: 'Laptop' }, [{ epoch: 1, key: newEpochKey() }], decline('attacker-as-inviter'), stop.signal),
      join(inv, joinerBox, { device: 'dev-tablet', name: 'Tablet' }, decline('joiner'), stop.signal),
    ]);
    assert.match(seen['inviter']!, /^\d{6}$/);
    assert.notEqual(seen['inviter'], seen['joiner'], 'the two people see different codes');
    assert.equal(inviterBox.get('welcome'), undefined, 'declined: the epoch key never left the inviter');
  });

  test('a changed welcome is refused; expired and damaged links are refused with a sentence', async () => {
    const inv = newInvitation('wss://relay.example', 'dev-laptop', NOW);
    const [boxA, boxB] = linkedBoxes();
    // The joiner's copy of the welcome arrives with one byte changed.
    const flipped: Mailbox = {
      get: (n) => boxB.get(n),
      set: (n, v) => boxB.set(n, v),
      wait: async (n, signal) => {
        const v = await boxB.wait(n, signal);
        if (n !== 'welcome') return v;
        const bad = new Uint8Array(v);
        bad[bad.length - 1]! ^= 1;
        return bad;
      },
    };
    const stop = new AbortController();
    const [, b] = await Promise.all([
      invite(inv, boxA, { device: 'dev-laptop', name: 'Laptop' }, [{ epoch: 1, key: newEpochKey() }], async () => true, stop.signal).catch(() => null),
      join(inv, flipped, { device: 'dev-tablet', name: 'Tablet' }, async () => true, stop.signal).finally(() => stop.abort()),
    ]);
    assert.ok(!b.ok && b.code === 'pairing_tampered', JSON.stringify(b));
    const expired = parseInvitation(invitationText(inv), inv.expiresAt + 1);
    assert.ok(!expired.ok && expired.code === 'pairing_expired' && /expired/.test(expired.message));
    const damaged = parseInvitation('not-a-link', NOW);
    assert.ok(!damaged.ok && damaged.code === 'pairing_invalid');
  });
});
