import { describe, expect, it } from 'vitest';
import { OperationAbortedError } from '../core/errors.js';
import { AgentSlots, runHandBackable } from './agent-slots.js';

describe('AgentSlots', () => {
  it('resizes live: fewer slots stop new work, more wake waiting builds', async () => {
    const slots = new AgentSlots(1);
    const first = slots.tryAcquire('a');
    expect(first).not.toBeNull();
    const waiting = slots.acquire('b');
    slots.setCapacity(2);
    const second = await waiting;
    expect(slots.jobs()).toEqual(['a', 'b']);
    slots.setCapacity(1);
    first?.();
    expect(slots.free()).toBe(0);
    second();
    expect(slots.free()).toBe(1);
  });

  it("hands back peers' work only, once", () => {
    const slots = new AgentSlots(3);
    const own = slots.tryAcquire('own');
    const peer = slots.tryAcquireForPeer('peer');
    expect(own).not.toBeNull();
    expect(slots.handBackPeerWork('the owner came back')).toBe(1);
    expect(peer?.handedBack.aborted).toBe(true);
    expect(peer?.handedBack.reason).toBeInstanceOf(OperationAbortedError);
    expect(slots.handBackPeerWork('again')).toBe(0);
    expect(slots.tryAcquireForPeer('x')).not.toBeNull();
    expect(slots.tryAcquireForPeer('y')).toBeNull();
  });
});

describe('runHandBackable', () => {
  it('turns a hand-back into an infrastructure failure and frees the slot', async () => {
    const slots = new AgentSlots(1);
    const lease = slots.tryAcquireForPeer('peer task');
    if (!lease) throw new Error('no slot');
    const outcome = runHandBackable(
      lease,
      new AbortController().signal,
      (signal) =>
        new Promise((_, reject) =>
          signal.addEventListener('abort', () => reject(new OperationAbortedError('cancelled')), {
            once: true,
          }),
        ),
    );
    slots.handBackPeerWork('the owner of this peer came back');
    await expect(outcome).resolves.toEqual({
      status: 'Failed',
      errorMessage: 'Handed back: the owner of this peer came back',
      failureKind: 'infrastructure',
    });
    expect(slots.free()).toBe(1);
  });

  it('leaves outcomes alone when nothing was handed back, or the coordinator cancelled', async () => {
    const slots = new AgentSlots(2);
    const lease = slots.tryAcquireForPeer('a');
    if (!lease) throw new Error('no slot');
    await expect(
      runHandBackable(lease, new AbortController().signal, () =>
        Promise.resolve({ status: 'Succeeded' as const }),
      ),
    ).resolves.toEqual({ status: 'Succeeded' });

    const cancelled = new AbortController();
    const second = slots.tryAcquireForPeer('b');
    if (!second) throw new Error('no slot');
    cancelled.abort();
    slots.handBackPeerWork('late');
    await expect(
      runHandBackable(second, cancelled.signal, () => Promise.reject(new OperationAbortedError('cancelled'))),
    ).rejects.toThrow(OperationAbortedError);
    expect(slots.free()).toBe(2);
  });
});
