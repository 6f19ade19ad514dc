"""RFC 9162 Merkle hashing: published test vectors, a naive reference, every proof up to size 20."""

from __future__ import annotations

import hashlib

import pytest

from pactline.ledger.merkle import (
    EMPTY_ROOT,
    Frontier,
    consistency_path,
    inclusion_path,
    leaf_hash,
    node_hash,
    root,
    verify_consistency,
    verify_inclusion,
)

# The RFC 6962/9162 reference inputs and results used by certificate-transparency, Trillian and
# transparency-dev/merkle (testonly/constants.go): leaf inputs, and roots of the first n leaves.
VECTOR_LEAVES = [bytes.fromhex(h) for h in ("", "00", "10", "2021", "3031", "40414243", "5051525354555657",
                                             "606162636465666768696a6b6c6d6e6f")]  # fmt: skip
VECTOR_ROOTS = [
    "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
    "fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125",
    "aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77",
    "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
    "4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4",
    "76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef",
    "ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c",
    "5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328",
]
# (leaf index 0-based, tree size, audit path) and (size1, size2, proof) from the same suite.
VECTOR_INCLUSION = [
    (0, 1, []),
    (0, 8, ["96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7",
            "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
            "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4"]),
    (5, 8, ["bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
            "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
            "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7"]),
    (2, 3, ["fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125"]),
    (1, 5, ["6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
            "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
            "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b"]),
]  # fmt: skip
VECTOR_CONSISTENCY = [
    (1, 1, []),
    (1, 8, ["96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7",
            "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
            "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4"]),
    (6, 8, ["0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a",
            "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
            "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7"]),
    (2, 5, ["5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
            "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b"]),
    (6, 7, ["0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a",
            "b08693ec2e721597130641e8211e7eedccb4c26413963eee6c1e2ed16ffb1a5f",
            "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7"]),
]  # fmt: skip

VECTOR_LEAF_HASHES = [leaf_hash(d) for d in VECTOR_LEAVES]
LEAVES_21 = [leaf_hash(f"entry {i}".encode()) for i in range(21)]
LEAVES_20 = LEAVES_21[:20]


# -- a naive reference, written straight from the RFC's recursive definitions -------------


def _h(data: bytes) -> bytes:
    return hashlib.sha256(data).digest()


def _k(n: int) -> int:
    k = 1
    while k * 2 < n:
        k *= 2
    return k


def naive_mth(data: list[bytes]) -> bytes:
    n = len(data)
    if n == 0:
        return _h(b"")
    if n == 1:
        return _h(b"\x00" + data[0])
    k = _k(n)
    return _h(b"\x01" + naive_mth(data[:k]) + naive_mth(data[k:]))


def naive_mth_of_hashes(hashes: list[bytes]) -> bytes:
    if len(hashes) == 1:
        return hashes[0]
    k = _k(len(hashes))
    return _h(b"\x01" + naive_mth_of_hashes(hashes[:k]) + naive_mth_of_hashes(hashes[k:]))


def naive_path(m: int, hashes: list[bytes]) -> list[bytes]:
    n = len(hashes)
    if n == 1:
        return []
    k = _k(n)
    if m < k:
        return [*naive_path(m, hashes[:k]), naive_mth_of_hashes(hashes[k:])]
    return [*naive_path(m - k, hashes[k:]), naive_mth_of_hashes(hashes[:k])]


def naive_subproof(m: int, hashes: list[bytes], complete: bool) -> list[bytes]:
    n = len(hashes)
    if m == n:
        return [] if complete else [naive_mth_of_hashes(hashes)]
    k = _k(n)
    if m <= k:
        return [*naive_subproof(m, hashes[:k], complete), naive_mth_of_hashes(hashes[k:])]
    return [*naive_subproof(m - k, hashes[k:], False), naive_mth_of_hashes(hashes[:k])]


# -- tests ------------------------------------------------------------------------------------


def test_published_roots_for_sizes_1_to_8() -> None:
    for n in range(1, 9):
        assert root(VECTOR_LEAF_HASHES, n).hex() == VECTOR_ROOTS[n - 1]
        assert naive_mth(VECTOR_LEAVES[:n]).hex() == VECTOR_ROOTS[n - 1]
    assert root([]) == EMPTY_ROOT == bytes.fromhex("e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855")


def test_hand_computed_roots_for_sizes_1_to_8() -> None:
    a, b, c, d, e, f, g, h = VECTOR_LEAF_HASHES
    n = node_hash
    by_hand = {
        1: a,
        2: n(a, b),
        3: n(n(a, b), c),
        4: n(n(a, b), n(c, d)),
        5: n(n(n(a, b), n(c, d)), e),
        6: n(n(n(a, b), n(c, d)), n(e, f)),
        7: n(n(n(a, b), n(c, d)), n(n(e, f), g)),
        8: n(n(n(a, b), n(c, d)), n(n(e, f), n(g, h))),
    }
    for size, expected in by_hand.items():
        assert root(VECTOR_LEAF_HASHES, size) == expected
        assert expected.hex() == VECTOR_ROOTS[size - 1]


def test_published_inclusion_and_consistency_proofs() -> None:
    for index, size, path in VECTOR_INCLUSION:
        assert [p.hex() for p in inclusion_path(VECTOR_LEAF_HASHES, index, size)] == path
        expected_root = bytes.fromhex(VECTOR_ROOTS[size - 1])
        proof = [bytes.fromhex(p) for p in path]
        assert verify_inclusion(VECTOR_LEAF_HASHES[index], index, size, proof, expected_root)
    for first, second, path in VECTOR_CONSISTENCY:
        assert [p.hex() for p in consistency_path(VECTOR_LEAF_HASHES, first, second)] == path
        r1, r2 = bytes.fromhex(VECTOR_ROOTS[first - 1]), bytes.fromhex(VECTOR_ROOTS[second - 1])
        assert verify_consistency(first, second, r1, r2, [bytes.fromhex(p) for p in path])


def test_roots_match_naive_reference_and_frontier_up_to_64() -> None:
    data = [f"leaf-{i}".encode() for i in range(64)]
    hashes = [leaf_hash(d) for d in data]
    frontier = Frontier()
    for n in range(1, 65):
        frontier.append(hashes[n - 1])
        expected = naive_mth(data[:n])
        assert root(hashes, n) == expected
        assert frontier.root() == expected
        again = Frontier.from_bytes(n, frontier.to_bytes())  # what a checkpoint row stores
        assert again.root() == expected


def test_every_inclusion_proof_up_to_20_matches_rfc_and_verifies() -> None:
    for n in range(1, 21):
        r = root(LEAVES_20, n)
        for m in range(n):
            path = inclusion_path(LEAVES_20, m, n)
            assert path == naive_path(m, LEAVES_20[:n])
            assert verify_inclusion(LEAVES_20[m], m, n, path, r)
            # the same path must not prove another leaf, another position, or another tree
            assert not verify_inclusion(LEAVES_20[(m + 1) % 20], m, n, path, r)
            if n > 1:
                assert not verify_inclusion(LEAVES_20[m], (m + 1) % n, n, path, r)
            assert not verify_inclusion(LEAVES_20[m], m, n + 1, path, root(LEAVES_21, n + 1))


def test_every_consistency_proof_up_to_20_matches_rfc_and_verifies() -> None:
    for n in range(1, 21):
        rn = root(LEAVES_20, n)
        for m in range(1, n + 1):
            rm = root(LEAVES_20, m)
            path = consistency_path(LEAVES_20, m, n)
            assert path == (naive_subproof(m, LEAVES_20[:n], True) if m < n else [])
            assert verify_consistency(m, n, rm, rn, path)
            if m < n:
                other = root([leaf_hash(b"forged"), *LEAVES_20[1:]], m)  # a different history
                assert not verify_consistency(m, n, other, rn, path)
                assert not verify_consistency(m, n, rn, rm, path)


def _flip(h: bytes) -> bytes:
    return bytes([h[0] ^ 8]) + h[1:]


@pytest.mark.parametrize(("index", "size", "path"), [v for v in VECTOR_INCLUSION if v[2]])
def test_tampered_inclusion_proofs_fail(index: int, size: int, path: list[str]) -> None:
    proof = [bytes.fromhex(p) for p in path]
    leaf, r = VECTOR_LEAF_HASHES[index], bytes.fromhex(VECTOR_ROOTS[size - 1])
    assert verify_inclusion(leaf, index, size, proof, r)
    bad_cases = [
        (leaf, index - 1, size, proof, r),
        (leaf, index + 1, size, proof, r),
        (leaf, index ^ 2, size, proof, r),
        (leaf, index, size * 2, proof, r),
        (leaf, index, size // 2, proof, r),
        (b"WrongLeaf", index, size, proof, r),
        (leaf, index, size, proof, EMPTY_ROOT),
        (leaf, index, size, [*proof, b""], r),
        (leaf, index, size, [*proof, r], r),
        (leaf, index, size, [r, *proof], r),
        (leaf, index, size, proof[:-1], r),
        *[(leaf, index, size, [*proof[:i], _flip(p), *proof[i + 1 :]], r) for i, p in enumerate(proof)],
    ]
    for case in bad_cases:
        assert not verify_inclusion(*case), case


@pytest.mark.parametrize(("first", "second", "path"), [v for v in VECTOR_CONSISTENCY if v[2]])
def test_tampered_consistency_proofs_fail(first: int, second: int, path: list[str]) -> None:
    proof = [bytes.fromhex(p) for p in path]
    r1, r2 = bytes.fromhex(VECTOR_ROOTS[first - 1]), bytes.fromhex(VECTOR_ROOTS[second - 1])
    assert verify_consistency(first, second, r1, r2, proof)
    bad_cases = [
        (first - 1, second, r1, r2, proof),
        (first + 1, second, r1, r2, proof),
        (first ^ 2, second, r1, r2, proof),
        (first, second * 2, r1, r2, proof),
        (first, second // 2, r1, r2, proof),
        (first, second, b"WrongRoot", r2, proof),
        (first, second, r1, b"WrongRoot", proof),
        (first, second, r2, r1, proof),
        (first, second, r1, r2, []),
        (first, second, r1, r2, [*proof, b""]),
        (first, second, r1, r2, [*proof, r1]),
        (first, second, r1, r2, [*proof, r2]),
        (first, second, r1, r2, [b"", *proof]),
        (first, second, r1, r2, [r1, *proof]),
        (first, second, r1, r2, [r2, *proof]),
        (first, second, r1, r2, [proof[0], *proof]),
        (first, second, r1, r2, proof[:-1]),
        *[(first, second, r1, r2, [*proof[:i], _flip(p), *proof[i + 1 :]]) for i, p in enumerate(proof)],
    ]
    for case in bad_cases:
        assert not verify_consistency(*case), case


def test_edge_sizes() -> None:
    r1 = root(LEAVES_20, 1)
    assert verify_consistency(0, 0, EMPTY_ROOT, EMPTY_ROOT, [])
    assert not verify_consistency(0, 1, EMPTY_ROOT, r1, [])  # from the empty tree proves nothing
    assert not verify_consistency(1, 0, r1, EMPTY_ROOT, [])
    assert not verify_consistency(1, 1, r1, r1, [EMPTY_ROOT])
    assert not verify_inclusion(LEAVES_20[0], 0, 0, [], EMPTY_ROOT)
    assert verify_inclusion(LEAVES_20[0], 0, 1, [], LEAVES_20[0])
    with pytest.raises(ValueError):
        inclusion_path(LEAVES_20, 20, 20)
    with pytest.raises(ValueError):
        consistency_path(LEAVES_20, 0, 5)
    with pytest.raises(ValueError):
        Frontier(3, [LEAVES_20[0]])  # size 3 = 2 + 1 needs two subtree roots
