/**
 * The protocol state machine of one peer: the view of the cluster (`State`) plus, per
 * neighbour, which record versions it is known to hold. Every method is synchronous and does
 * no I/O; it returns the messages to send, which the caller delivers.
 */
import * as HashMap from "effect/HashMap"
import * as Option from "effect/Option"
import * as State from "../State.js"

/** Most records carried by one message; a larger batch is split. */
export const MAX_MEMBERS_PER_MESSAGE = 256

/** A message the engine wants delivered to the neighbour `to`. */
export interface Outgoing {
  readonly to: State.PeerId
  readonly members: ReadonlyArray<State.Member>
  readonly acks: ReadonlyArray<readonly [State.PeerId, number]>
}

interface Link {
  /** The newest version of each record this neighbour is known to hold. */
  readonly acked: Map<State.PeerId, number>
  /** Records changed since the last message to this neighbour. */
  readonly dirty: Set<State.PeerId>
  /** Records sent but not yet acknowledged: sent again each round. */
  readonly unacked: Set<State.PeerId>
  /** Acknowledgements owed to this neighbour. */
  acks: Array<readonly [State.PeerId, number]>
  connections: number
}

const newLink = (): Link => ({
  acked: new Map(),
  dirty: new Set(),
  unacked: new Set(),
  acks: [],
  connections: 0
})

export class Engine {
  private readonly links = new Map<State.PeerId, Link>()
  /** The gap that blocked the last proof attempt; while it stays open, so does the proof. */
  private blocker: State.Gap | undefined = undefined
  /** Set when a slot switched identity, so the cached blocker may no longer be reachable. */
  private reshaped = false
  /** The version of this peer's record that first said it is complete. */
  private completedAt: number | undefined = undefined

  constructor(public state: State.State) {}

  /** A connection to `remote` has said hello. */
  connect(remote: State.PeerId): ReadonlyArray<Outgoing> {
    const link = this.link(remote)
    link.connections++
    link.acked.set(remote, Number.POSITIVE_INFINITY)
    for (const id of HashMap.keys(this.state.members)) link.dirty.add(id)
    return this.flush(remote, link)
  }

  /** A connection to `remote` has closed. */
  disconnect(remote: State.PeerId): void {
    const link = this.links.get(remote)
    if (link !== undefined) link.connections = Math.max(0, link.connections - 1)
  }

  /** Whether at least one connection to `remote` is open. */
  isConnected(remote: State.PeerId): boolean {
    return (this.links.get(remote)?.connections ?? 0) > 0
  }

  /** Whether `remote` has acknowledged a version of this peer's record that says it is
   * complete. Later versions (a slot pointing at a restarted neighbour) do not matter here. */
  knowsWeAreComplete(remote: State.PeerId): boolean {
    const acked = this.links.get(remote)?.acked.get(this.state.self) ?? 0
    return this.completedAt !== undefined && acked >= this.completedAt
  }

  /** Handles records and acknowledgements from `remote`; returns the news it brought. With
   * `flush` false, what must be sent waits for the next `flushChanges` (or round). */
  receive(
    remote: State.PeerId,
    members: ReadonlyArray<State.Member>,
    acks: ReadonlyArray<readonly [State.PeerId, number]>,
    flush = true
  ): { readonly news: ReadonlyArray<State.Member>; readonly out: ReadonlyArray<Outgoing> } {
    const link = this.link(remote)
    for (const member of members) {
      raise(link.acked, member.id, member.version)
      link.acks.push([member.id, member.version])
    }
    for (const [id, version] of acks) {
      raise(link.acked, id, version)
      if (version >= this.versionOf(id)) link.unacked.delete(id)
    }
    const [next, news] = State.merge(this.state, members)
    for (const member of news) {
      const before = HashMap.get(this.state.members, member.id)
      if (Option.isSome(before) && State.isReshaped(before.value, member)) this.reshaped = true
    }
    this.state = next
    for (const member of news) {
      this.touch(member.id)
      // news relayed from its owner's neighbourhood: tell the owner too that we have it, so a
      // neighbour waiting for our acknowledgement before it leaves is not left waiting
      const owner = member.id === remote ? undefined : this.links.get(member.id)
      if (owner !== undefined && owner.connections > 0) owner.acks.push([member.id, member.version])
    }
    return { news, out: flush ? this.flushAll() : [] }
  }

  /** Everything changed (records and acknowledgements) since the last message to each
   * connected neighbour. */
  flushChanges(): ReadonlyArray<Outgoing> {
    return this.flushAll()
  }

  /** This peer's slot `index` was answered by `remote`. */
  resolve(index: number, remote: State.PeerId): ReadonlyArray<Outgoing> {
    return this.update(State.resolveSlot(this.state, index, remote))
  }

  /** This peer has written its result. */
  complete(): ReadonlyArray<Outgoing> {
    const out = this.update(State.markComplete(this.state))
    this.completedAt ??= State.selfMember(this.state).version
    return out
  }

  /** A round: everything still unacknowledged is sent again. */
  tick(): ReadonlyArray<Outgoing> {
    const out: Array<Outgoing> = []
    for (const [remote, link] of this.links) {
      if (link.connections === 0) continue
      for (const id of link.unacked) link.dirty.add(id)
      out.push(...this.flush(remote, link))
    }
    return out
  }

  /**
   * Tries to prove the view. A full walk runs only when the gap that blocked the previous
   * attempt has closed, so checking after every message stays cheap in large clusters.
   */
  prove(): Option.Option<State.Proof> {
    if (
      !this.reshaped && this.blocker !== undefined && State.isStillOpen(this.state, this.blocker)
    ) {
      return Option.none()
    }
    this.reshaped = false
    this.blocker = State.gaps(this.state, 1)[0]
    return this.blocker === undefined ? Option.some(State.reachable(this.state)) : Option.none()
  }

  private update(next: State.State): ReadonlyArray<Outgoing> {
    if (next === this.state) return []
    if (State.isReshaped(State.selfMember(this.state), State.selfMember(next))) this.reshaped = true
    this.state = next
    this.touch(next.self)
    return this.flushAll()
  }

  private touch(id: State.PeerId): void {
    for (const link of this.links.values()) link.dirty.add(id)
  }

  private versionOf(id: State.PeerId): number {
    return Option.match(HashMap.get(this.state.members, id), {
      onNone: () => 0,
      onSome: (member) => member.version
    })
  }

  private link(remote: State.PeerId): Link {
    let link = this.links.get(remote)
    if (link === undefined) {
      link = newLink()
      this.links.set(remote, link)
    }
    return link
  }

  private flushAll(): ReadonlyArray<Outgoing> {
    const out: Array<Outgoing> = []
    for (const [remote, link] of this.links) {
      if (link.connections > 0) out.push(...this.flush(remote, link))
    }
    return out
  }

  private flush(remote: State.PeerId, link: Link): ReadonlyArray<Outgoing> {
    const members: Array<State.Member> = []
    for (const id of link.dirty) {
      const member = HashMap.get(this.state.members, id)
      if (Option.isNone(member) || member.value.version <= (link.acked.get(id) ?? 0)) continue
      members.push(member.value)
      link.unacked.add(id)
    }
    link.dirty.clear()
    const acks = link.acks
    link.acks = []
    if (members.length === 0 && acks.length === 0) return []
    const out: Array<Outgoing> = []
    for (let i = 0; i === 0 || i < members.length; i += MAX_MEMBERS_PER_MESSAGE) {
      out.push({
        to: remote,
        members: members.slice(i, i + MAX_MEMBERS_PER_MESSAGE),
        acks: i === 0 ? acks : []
      })
    }
    return out
  }
}

const raise = (map: Map<State.PeerId, number>, id: State.PeerId, version: number): void => {
  if ((map.get(id) ?? 0) < version) map.set(id, version)
}
