"""How large a Hamiltonian this machine diagonalizes exactly: wall time and peak memory of
`qnas.tasks.exact.ground_energy` by qubit count, the evidence for `MAX_EXACT_QUBITS`.

Each case runs in its own process, so its peak resident memory is its own. Cases: the critical
TFIM chain (periodic, J = h = 1: a small gap, so the eigensolver's hardest spin chain) and
hydrogen chains in STO-3G (0.9 Å spacing) at their electron count, whose many X/Y patterns make
the sparse matrix denser. The molecules' Hamiltonian build (Hartree-Fock, integrals, mapping) is
timed apart from the diagonalization. The qubit limit is lifted here, to measure past it.

    OMP_NUM_THREADS=1 .venv/bin/python benchmarks/exact_energy.py --tfim 12 16 18 20 22 --hydrogen 6 8 10
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import time


def tfim_terms(n: int) -> list[tuple[float, str]]:
    """Periodic critical TFIM: -sum Z_i Z_{i+1} - sum X_i."""
    terms = []
    for i in range(n):
        bond = ["I"] * n
        bond[i] = bond[(i + 1) % n] = "Z"
        field = ["I"] * n
        field[i] = "X"
        terms += [(-1.0, "".join(bond)), (-1.0, "".join(field))]
    return terms


def run_case(kind: str, size: int) -> dict:
    """Build and diagonalize one case in this process; return its figures."""
    from qnas.tasks import exact
    from qnas.tasks.exact import Sector, ground_energy

    exact.MAX_EXACT_QUBITS = 64  # measure past the limit too
    start = time.perf_counter()
    sector = None
    if kind == "tfim":
        terms, n_qubits = tfim_terms(size), size
    else:
        from qnas.tasks.molecule import _electron_sector, _molecular_hamiltonian
        from qnas.tasks.vqe import pauli_terms_of

        geometry = tuple((0.0, 0.0, 0.9 * i) for i in range(size))
        hamiltonian, n_qubits = _molecular_hamiltonian(("H",) * size, geometry, 0, "sto-3g", "jordan_wigner", 0, tuple(range(size)), None)
        terms = pauli_terms_of("hydrogen chain", hamiltonian, n_qubits)
        sector: Sector | None = _electron_sector(n_qubits, "jordan_wigner", size)
    built = time.perf_counter()
    energy = ground_energy(terms, n_qubits, sector)
    done = time.perf_counter()
    return {
        "case": f"{kind}-{size}",
        "qubits": n_qubits,
        "terms": len(terms),
        "patterns": len({word.replace("Z", "I").replace("Y", "X") for _, word in terms}),
        "energy": energy,
        "build_s": round(built - start, 2),
        "diagonalize_s": round(done - built, 2),
        "peak_gib": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20, 2),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tfim", type=int, nargs="*", default=[12, 16, 18, 20])
    parser.add_argument("--hydrogen", type=int, nargs="*", default=[6, 8])
    parser.add_argument("--case", nargs=2, help=argparse.SUPPRESS)  # one case, in a child process
    args = parser.parse_args()
    if args.case:
        print(json.dumps(run_case(args.case[0], int(args.case[1]))))
        return
    print(f"{'case':12s} {'qubits':>6s} {'terms':>6s} {'X/Y patterns':>12s} {'build s':>8s} {'diag s':>8s} {'peak GiB':>8s}")
    for kind, sizes in (("tfim", args.tfim), ("hydrogen", args.hydrogen)):
        for size in sizes:
            out = subprocess.run([sys.executable, __file__, "--case", kind, str(size)], capture_output=True, text=True)
            if out.returncode:
                print(f"{kind}-{size}: failed: {out.stderr.strip().splitlines()[-1]}")
                continue
            r = json.loads(out.stdout.strip().splitlines()[-1])
            print(
                f"{r['case']:12s} {r['qubits']:6d} {r['terms']:6d} {r['patterns']:12d} {r['build_s']:8.2f} "
                f"{r['diagonalize_s']:8.2f} {r['peak_gib']:8.2f}   E0 = {r['energy']:.8f}",
                flush=True,
            )


if __name__ == "__main__":
    main()
