"""RFC 9162 Merkle tree hashing over leaf hashes: roots, audit paths, consistency proofs.

Everything here works on *leaf hashes* (SHA-256(0x00 || entry bytes)), never on entry bytes,
so the ledger can build proofs from its stored leaf hashes without re-reading entries.
Proof generation follows RFC 9162 §2.1.3.1 / §2.1.4.1 and verification follows the RFC's
own algorithms in §2.1.3.2 / §2.1.4.2, so a proof from here checks with any RFC 9162 client.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence

HASH_SIZE = 32
EMPTY_ROOT = hashlib.sha256(b"").digest()  # MTH({}) per RFC 9162 §2.1.1


def leaf_hash(data: bytes) -> bytes:
    return hashlib.sha256(b"\x00" + data).digest()


def node_hash(left: bytes, right: bytes) -> bytes:
    return hashlib.sha256(b"\x01" + left + right).digest()


def _split(n: int) -> int:
    """The largest power of two smaller than n (n >= 2): where RFC 9162 splits a tree of n leaves."""
    return 1 << ((n - 1).bit_length() - 1)


def subtree_root(leaves: Sequence[bytes], lo: int = 0, hi: int | None = None) -> bytes:
    """MTH(D[lo:hi]).

    Computed level by level, carrying an unpaired last node up unchanged: this builds
    exactly the RFC's split-at-largest-power-of-two tree without recursion.
    """
    hi = len(leaves) if hi is None else hi
    if hi <= lo:
        return EMPTY_ROOT
    level = list(leaves[lo:hi])
    while len(level) > 1:
        paired = [node_hash(level[i], level[i + 1]) for i in range(0, len(level) - 1, 2)]
        if len(level) % 2:
            paired.append(level[-1])
        level = paired
    return level[0]


def root(leaves: Sequence[bytes], size: int | None = None) -> bytes:
    """The tree head MTH(D[0:size]) (all leaves when size is None)."""
    return subtree_root(leaves, 0, len(leaves) if size is None else size)


def inclusion_path(leaves: Sequence[bytes], index: int, size: int | None = None) -> list[bytes]:
    """PATH(index, D[0:size]) of RFC 9162 §2.1.3.1, ordered from the leaf up to the root."""
    size = len(leaves) if size is None else size
    if not 0 <= index < size <= len(leaves):
        raise ValueError(f"leaf index {index} is not in a tree of size {size}")
    path: list[bytes] = []
    lo, hi = 0, size
    while hi - lo > 1:  # walk down from the root, collecting the sibling subtree at each split
        k = _split(hi - lo)
        if index - lo < k:
            path.append(subtree_root(leaves, lo + k, hi))
            hi = lo + k
        else:
            path.append(subtree_root(leaves, lo, lo + k))
            lo += k
    path.reverse()
    return path


def consistency_path(leaves: Sequence[bytes], first: int, second: int | None = None) -> list[bytes]:
    """PROOF(first, D[0:second]) of RFC 9162 §2.1.4.1 (empty when the sizes are equal)."""
    second = len(leaves) if second is None else second
    if not (0 < first <= second <= len(leaves) or first == second == 0):
        raise ValueError(f"no consistency proof from size {first} to size {second}")
    if first == second:
        return []
    path: list[bytes] = []
    lo, hi, m, complete = 0, second, first, True
    while True:  # SUBPROOF(m, D[lo:hi], complete), unrolled top-down
        n = hi - lo
        if m == n:
            if not complete:
                path.append(subtree_root(leaves, lo, hi))
            break
        k = _split(n)
        if m <= k:
            path.append(subtree_root(leaves, lo + k, hi))
            hi = lo + k
        else:
            path.append(subtree_root(leaves, lo, lo + k))
            lo, m, complete = lo + k, m - k, False
    path.reverse()
    return path


def verify_inclusion(leaf: bytes, index: int, size: int, path: Sequence[bytes], root_hash: bytes) -> bool:
    """RFC 9162 §2.1.3.2: does `path` prove leaf number `index` is in the tree of `size` with `root_hash`?"""
    if not 0 <= index < size:
        return False
    fn, sn, r = index, size - 1, leaf
    for p in path:
        if sn == 0:
            return False
        if fn & 1 or fn == sn:
            r = node_hash(p, r)
            while fn and not fn & 1:  # climb to where this node becomes a right child
                fn >>= 1
                sn >>= 1
        else:
            r = node_hash(r, p)
        fn >>= 1
        sn >>= 1
    return sn == 0 and r == root_hash


def verify_consistency(first: int, second: int, first_root: bytes, second_root: bytes, path: Sequence[bytes]) -> bool:
    """RFC 9162 §2.1.4.2: does `path` prove the tree of size `first` is a prefix of the one of size `second`?

    The RFC defines proofs for 0 < first < second. Equal sizes need equal roots and an empty
    proof; a proof from the empty tree is refused (it would prove nothing), as the
    transparency-dev reference verifier does.
    """
    if first == second:
        return not path and first_root == second_root
    if not 0 < first < second or not path:
        return False
    nodes = list(path)
    if first & (first - 1) == 0:  # first is an exact power of two: its root is a node of the proof
        nodes.insert(0, first_root)
    fn, sn = first - 1, second - 1
    while fn & 1:
        fn >>= 1
        sn >>= 1
    fr = sr = nodes[0]
    for c in nodes[1:]:
        if sn == 0:
            return False
        if fn & 1 or fn == sn:
            fr = node_hash(c, fr)
            sr = node_hash(c, sr)
            while fn and not fn & 1:  # climb to where this node becomes a right child
                fn >>= 1
                sn >>= 1
        else:
            sr = node_hash(sr, c)
        fn >>= 1
        sn >>= 1
    return fr == first_root and sr == second_root and sn == 0


class Frontier:
    """The compact range of a tree of `size` leaves: roots of its perfect subtrees, largest first.

    There is one root per set bit of `size`, so it is tiny (<= 64 hashes) and folding it from
    the right gives MTH(D[0:size]). Checkpoints store it so the next checkpoint only hashes the
    leaves appended since, instead of the whole ledger.
    """

    def __init__(self, size: int = 0, hashes: Sequence[bytes] = ()) -> None:
        heights = [b for b in range(size.bit_length() - 1, -1, -1) if size >> b & 1]
        if len(hashes) != len(heights) or any(len(h) != HASH_SIZE for h in hashes):
            raise ValueError(f"a frontier of size {size} needs {len(heights)} hashes of {HASH_SIZE} bytes")
        self.size = size
        self._nodes: list[tuple[int, bytes]] = [(1 << b, h) for b, h in zip(heights, hashes, strict=True)]

    @classmethod
    def from_bytes(cls, size: int, blob: bytes) -> Frontier:
        return cls(size, [blob[i : i + HASH_SIZE] for i in range(0, len(blob), HASH_SIZE)])

    def to_bytes(self) -> bytes:
        return b"".join(h for _, h in self._nodes)

    def append(self, leaf: bytes) -> None:
        self._nodes.append((1, leaf))
        self.size += 1
        while len(self._nodes) > 1 and self._nodes[-1][0] == self._nodes[-2][0]:
            (width, right), (_, left) = self._nodes.pop(), self._nodes.pop()
            self._nodes.append((2 * width, node_hash(left, right)))

    def extend(self, leaves: Sequence[bytes]) -> None:
        for leaf in leaves:
            self.append(leaf)

    def root(self) -> bytes:
        if not self._nodes:
            return EMPTY_ROOT
        r = self._nodes[-1][1]
        for _, h in reversed(self._nodes[:-1]):
            r = node_hash(h, r)
        return r
