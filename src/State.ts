/**
 * The pure core of the protocol: what a peer knows about the members of its cluster, how two
 * views merge, and when a view proves that no member is unknown. No I/O, no clock, no
 * randomness: every function here takes a value and returns a value.
 *
 * @since 0.1.0
 */
import * as HashMap from "effect/HashMap"
import * as Option from "effect/Option"

/** Identity of one incarnation of a peer: random, fixed for the life of the process. */
export type PeerId = string

/** One configured neighbour of a member: the address it dials, and who answered there. */
export interface Slot {
  /** The address as configured at that member (`host:port`), kept for diagnostics. */
  readonly address: string
  /** The identity of the peer that answered at that address, or `null` until reached. */
  readonly id: PeerId | null
}

/** What the cluster knows of one member; only its owner creates new versions of it. */
export interface Member {
  readonly id: PeerId
  /** The member's starting value. */
  readonly value: bigint
  /** One slot per neighbour the member was configured with. */
  readonly slots: ReadonlyArray<Slot>
  /** Increases with every change the owner makes; the higher version wins a merge. */
  readonly version: number
  /** Set once the owner has proven and written its result; never unset. */
  readonly complete: boolean
}

/** One peer's view of its cluster. */
export interface State {
  readonly self: PeerId
  readonly members: HashMap.HashMap<PeerId, Member>
}

/** A member whose closure is not yet proven, and why. */
export interface Gap {
  /** The member whose slot is open, or who references an unknown member. */
  readonly member: PeerId
  /** Which of that member's slots. */
  readonly index: number
  readonly address: string
  /** `unreached`: the member has not reached that address yet; `unknown`: nothing is known
   * yet of the peer that answered there. */
  readonly kind: "unreached" | "unknown"
}

/** The proof that a view holds the whole cluster. */
export interface Proof {
  /** The maximum of the values of every member reachable from this peer. */
  readonly maximum: bigint
  /** The reachable members, including this peer. */
  readonly size: number
}

/** The starting view of a peer: itself, with one open slot per configured neighbour. */
export const initial = (self: PeerId, value: bigint, addresses: ReadonlyArray<string>): State => ({
  self,
  members: HashMap.make([self, {
    id: self,
    value,
    slots: addresses.map((address) => ({ address, id: null })),
    version: 1,
    complete: false
  }])
})

/** This peer's own member record. */
export const selfMember = (state: State): Member =>
  Option.getOrThrow(HashMap.get(state.members, state.self))

const replaceSelf = (state: State, f: (member: Member) => Member): State => {
  const before = selfMember(state)
  const after = f(before)
  return after === before ?
    state :
    {
      ...state,
      members: HashMap.set(state.members, state.self, { ...after, version: before.version + 1 })
    }
}

/** Records that `id` answered at this peer's slot `index`; a new identity (a restart) replaces
 * the old one. */
export const resolveSlot = (state: State, index: number, id: PeerId): State =>
  replaceSelf(state, (member) =>
    member.slots[index]?.id === id ? member : {
      ...member,
      slots: member.slots.map((slot, i) => (i === index ? { ...slot, id } : slot))
    })

/** Marks this peer complete: it has written its result. */
export const markComplete = (state: State): State =>
  replaceSelf(state, (member) => (member.complete ? member : { ...member, complete: true }))

/** Whether `incoming` is news: unknown, or a higher version of a known member. */
export const isNewer = (state: State, incoming: Member): boolean =>
  Option.match(HashMap.get(state.members, incoming.id), {
    onNone: () => true,
    onSome: (known) => incoming.version > known.version
  })

/**
 * Merges records received from another peer. Returns the new state and the records that were
 * news (in the order received). Records of this peer itself are ignored: only the owner
 * creates versions of its record.
 */
export const merge = (
  state: State,
  incoming: Iterable<Member>
): readonly [State, ReadonlyArray<Member>] => {
  let members = state.members
  const news: Array<Member> = []
  for (const member of incoming) {
    if (member.id === state.self) continue
    const known = HashMap.get(members, member.id)
    if (Option.isSome(known) && known.value.version >= member.version) continue
    members = HashMap.set(members, member.id, member)
    news.push(member)
  }
  return news.length === 0 ? [state, news] : [{ ...state, members }, news]
}

/**
 * Walks the members reachable from this peer through resolved slots. The view is proven when
 * every reachable member has every slot resolved and every identity found is known: then, if
 * the configured graph is strongly connected, no member of the cluster is missing.
 */
export const prove = (state: State): Option.Option<Proof> =>
  gaps(state, 1).length === 0 ? Option.some(reachable(state)) : Option.none()

/** The maximum and size of the members reachable from this peer (meaningful once proven). */
export const reachable = (state: State): Proof => {
  let maximum = selfMember(state).value
  let size = 0
  walk(state, (member) => {
    size++
    if (member.value > maximum) maximum = member.value
  })
  return { maximum, size }
}

const walk = (state: State, visit: (member: Member) => boolean | void): void => {
  const seen = new Set<PeerId>([state.self])
  const queue: Array<PeerId> = [state.self]
  for (let i = 0; i < queue.length; i++) {
    const member = HashMap.get(state.members, queue[i])
    if (Option.isNone(member)) continue
    if (visit(member.value) === false) return
    for (const slot of member.value.slots) {
      if (slot.id !== null && !seen.has(slot.id)) {
        seen.add(slot.id)
        queue.push(slot.id)
      }
    }
  }
}

/** What stands between this view and a proof, up to `limit` entries, nearest first. */
export const gaps = (state: State, limit = Infinity): ReadonlyArray<Gap> => {
  const found: Array<Gap> = []
  walk(state, (member) => {
    for (let index = 0; index < member.slots.length; index++) {
      const gap = gapAt(state, member, index)
      if (gap !== undefined) found.push(gap)
      if (found.length >= limit) return false
    }
  })
  return found
}

const gapAt = (state: State, member: Member, index: number): Gap | undefined => {
  const slot = member.slots[index]
  if (slot === undefined) return undefined
  if (slot.id === null) {
    return { member: member.id, index, address: slot.address, kind: "unreached" }
  }
  return HashMap.has(state.members, slot.id) ?
    undefined :
    { member: member.id, index, address: slot.address, kind: "unknown" }
}

/** Whether `gap` is still open in `state`: the same member's slot is still unfilled, or still
 * names a member with no record. */
export const isStillOpen = (state: State, gap: Gap): boolean =>
  Option.match(HashMap.get(state.members, gap.member), {
    onNone: () => false,
    onSome: (member) => gapAt(state, member, gap.index) !== undefined
  })

/** Whether replacing `before` by `after` can shrink what is reachable: a filled slot now names
 * another member (a restart). Filling an empty slot only ever adds. */
export const isReshaped = (before: Member, after: Member): boolean =>
  before.slots.some((slot, i) => slot.id !== null && after.slots[i]?.id !== slot.id)

/** The largest value known so far (not yet proven to be the cluster's maximum). */
export const bestKnown = (state: State): bigint => {
  let best = selfMember(state).value
  for (const member of HashMap.values(state.members)) {
    if (member.value > best) best = member.value
  }
  return best
}

/**
 * The identities this peer must not leave behind: the peers in its own slots and every
 * reachable member that has this peer in one of its slots. Records of incarnations that no
 * longer answer anywhere (replaced after a restart) are not reachable, so they do not count.
 */
export const neighbours = (state: State): ReadonlySet<PeerId> => {
  const result = new Set<PeerId>()
  walk(state, (member) => {
    for (const slot of member.slots) {
      if (member.id === state.self && slot.id !== null && slot.id !== state.self) {
        result.add(slot.id)
      } else if (member.id !== state.self && slot.id === state.self) {
        result.add(member.id)
      }
    }
  })
  return result
}

/** Whether the member `id` is known to have written its result. */
export const isComplete = (state: State, id: PeerId): boolean =>
  Option.match(HashMap.get(state.members, id), {
    onNone: () => false,
    onSome: (member) => member.complete
  })
