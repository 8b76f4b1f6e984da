"""Run a glassrs configuration through LAMMPS (the oracle) and read back energy, forces and
the configurational pressure tensor. Used by the MD/forces/FIRE tests and benchmarks."""

from __future__ import annotations

import numpy as np

import glassrs as gr


def jittered_lattice(model: gr.models.Model, n: int, seed: int = 0, density: float | None = None,
                     tilts=(0.0, 0.0, 0.0), jitter: float = 0.25) -> gr.Frame:
    """n particles on a jittered simple-cubic lattice at the model's density and composition."""
    rng = np.random.default_rng(seed)
    rho = model.density if density is None else density
    L = (n / rho) ** (1 / 3)
    m = int(np.ceil(n ** (1 / 3)))
    g = np.stack(np.meshgrid(*[np.arange(m)] * 3, indexing="ij"), -1).reshape(-1, 3)[:n]
    s = (g + 0.5 + jitter * (rng.random((n, 3)) - 0.5)) / m
    box = gr.Box.from_lammps([L, L, L], tilts)
    counts = np.round(np.asarray(model.composition) * n).astype(int)
    counts[-1] = n - counts[:-1].sum()
    types = rng.permutation(np.repeat(np.arange(len(counts)), counts))
    return gr.Frame(positions=s @ box.matrix.T, types=types, box=box, species=model.species)


def lammps_instance(lammps_mod, frame: gr.Frame, model: gr.models.Model, pair_cmds: list[str],
                    velocities: np.ndarray | None = None, extra: list[str] = ()):
    """A LAMMPS instance holding ``frame`` (a 2D box → ``dimension 2``, z ∈ [−0.5, 0.5])."""
    lmp = lammps_mod.lammps(cmdargs=["-log", "none", "-screen", "none", "-nocite"])
    b = frame.box
    lx, ly, lz = (float(v) for v in np.diag(b.matrix))
    xy, xz, yz = (float(v) for v in b.tilts)
    two_d = b.dim == 2
    zlo, zhi = (-0.5, 0.5) if two_d else (0.0, lz)
    lmp.commands_list([
        "units lj", *(["dimension 2"] if two_d else []), "atom_style atomic", "boundary p p p",
        "atom_modify map array",
        f"region box prism 0 {lx!r} 0 {ly!r} {zlo!r} {zhi!r} {xy!r} {xz!r} {yz!r}",
        f"create_box {len(model.species)} box",
    ])
    x = b.wrap(frame.positions)
    ids = np.arange(1, frame.n_particles + 1)
    t = model.type_map(frame.species)[frame.types] + 1
    v = None if velocities is None else velocities.ravel().tolist()
    lmp.create_atoms(frame.n_particles, ids.tolist(), t.tolist(), x.ravel().tolist(), v)
    for k, m in enumerate(model.masses):
        lmp.command(f"mass {k + 1} {float(m)!r}")
    lmp.commands_list(list(pair_cmds))
    lmp.commands_list(["neighbor 0.3 bin", "neigh_modify every 1 delay 0 check yes",
                       "compute pv all pressure NULL virial", "thermo_style custom step pe c_pv[1]",
                       *extra])
    return lmp


def lammps_forces(lammps_mod, frame: gr.Frame, model: gr.models.Model, pair_cmds: list[str]):
    """(E, forces (N, 3) in frame order, configurational pressure tensor (3, 3))."""
    lmp = lammps_instance(lammps_mod, frame, model, pair_cmds)
    lmp.command("run 0")
    e = lmp.get_thermo("pe") * frame.n_particles  # thermo pe is per atom in lj units
    ids = np.asarray(lmp.numpy.extract_atom("id")).copy()
    f = np.asarray(lmp.numpy.extract_atom("f"))[: frame.n_particles].copy()
    order = np.argsort(ids[: frame.n_particles])
    pv = np.asarray(lmp.numpy.extract_compute("pv", 0, 1)).copy()  # xx yy zz xy xz yz
    lmp.close()
    p = np.array([[pv[0], pv[3], pv[4]], [pv[3], pv[1], pv[5]], [pv[4], pv[5], pv[2]]])
    return e, f[order], p
