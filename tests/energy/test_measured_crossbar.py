"""The hybrid's crossbar is priced at the trained model's programmed conductances and row
activity (measured into its workload), so a regulariser that lowers the conductances
lowers the reported energy; hand-built workloads keep the energy model's assumptions."""

from __future__ import annotations

import dataclasses
import math

import pytest
import torch

from hadeq.analog import HardwareConfig
from hadeq.bench.assemble import workload_from
from hadeq.deq import DEQConfig
from hadeq.energy import DEQWorkload, EnergyConfig, hybrid_deq_energy
from hadeq.energy.accounting import adc_read_time_ns
from hadeq.errors import ConfigError
from hadeq.models import ConvHybridDEQ, ConvHybridDEQConfig, HybridDEQ, HybridDEQConfig
from hadeq.training import PhysicsConfig, physics_loss

# A programmed PCM chip (quantized, noisy, drifted conductances) without read noise, so
# the equilibrium the workload measures is reproducible.
PCM = HardwareConfig.preset("hermes_pcm_8bit").replace(read_noise=0.0)
T_S_NS = 50.0


def test_measured_conductance_and_activity_replace_the_assumptions() -> None:
    cfg = EnergyConfig(node_nm=45.0)
    n, g_cell, activity = 4, 0.3, 0.2
    work = DEQWorkload(neurons=n, injection=(), head=(), core_g_fraction=g_cell,
                       core_activity=activity)
    t_on = (T_S_NS + adc_read_time_ns(n, cfg)) * 1e-9
    # V²·ΣG·t: n² cells, each pair drawing g_cell·g_max (25 µS), rows at 0.2 V·z.
    xbar = n * n * g_cell * 25e-6 * 0.2**2 * activity * t_on
    for c in (cfg, dataclasses.replace(cfg, g_mean_fraction=0.9, input_activity=0.9),
              dataclasses.replace(cfg, devices_per_weight=1)):
        rep = hybrid_deq_energy(work, T_S_NS, c)
        bitline = c.devices_per_weight * n * n * 0.1e-15 * 0.2**2
        assert rep.energy.array_j == pytest.approx(xbar + bitline, rel=1e-12)
        assert rep.counts["crossbar_g_fraction"] == pytest.approx(g_cell / c.devices_per_weight)
        assert rep.counts["crossbar_activity"] == activity
    # Without measurements: the assumptions (0.25 per device, activity 0.5).
    plain = hybrid_deq_energy(dataclasses.replace(work, core_g_fraction=None,
                                                  core_activity=None), T_S_NS, cfg)
    assert plain.energy.array_j == pytest.approx(
        2 * n * n * 0.25 * 25e-6 * 0.2**2 * 0.5 * t_on + 2 * n * n * 0.1e-15 * 0.2**2)
    with pytest.raises(ConfigError, match=r"core_activity=1\.5"):
        dataclasses.replace(work, core_activity=1.5)
    with pytest.raises(ConfigError, match=r"core_g_fraction=-0\.1"):
        dataclasses.replace(work, core_g_fraction=-0.1)


def _digits_like(n: int, seed: int) -> torch.Tensor:
    return torch.rand(n, 64, generator=torch.Generator().manual_seed(seed)) * 16


def _dense_model() -> HybridDEQ:
    torch.manual_seed(0)
    config = HybridDEQConfig(in_features=64, out_features=10, hidden=16, stem_hidden=None,
                             hardware=PCM, deq=DEQConfig(solver_options={"tol": 1e-7}))
    model = HybridDEQ(config)
    with torch.no_grad():  # a trained-looking core: feedback that matters
        model.core.weight.mul_(1.6)
    model.project_contractive_()
    return model


def _crossbar_by_hand(model: HybridDEQ, x: torch.Tensor, cfg: EnergyConfig
                      ) -> tuple[float, float, float]:
    """(ΣG in S, mean z*², V²·ΣG·t_on in J) from the programmed effective weights (pairs at
    |E|/max|W|·g_max, g_min = 0) and the equilibrium of the first input."""
    with torch.no_grad():
        e = model.core.effective_weight()
        g_s = float(e.abs().sum() / model.core.weight.abs().max()) * PCM.g_max_us * 1e-6
        z = model.eval().forward_with_info(x[:1]).z_star
    model.train()
    activity = float(z.square().mean())
    t_on_s = (T_S_NS + adc_read_time_ns(z.shape[1], cfg)) * 1e-9
    return g_s, activity, cfg.v_read_v**2 * activity * g_s * t_on_s


def test_the_conductance_regulariser_lowers_the_reported_energy_by_v2_g_t() -> None:
    cfg = EnergyConfig()
    model = _dense_model()
    x = _digits_like(32, 1)
    n = model.config.hidden
    bitline = cfg.bitline_energy_j(cfg.devices_per_weight * n, n)

    def measured() -> tuple[float, float, DEQWorkload]:
        work = model.workload(x)
        rep = hybrid_deq_energy(work, T_S_NS, cfg, hardware=PCM)
        return rep.energy.array_j - bitline, rep.total_j, work

    array0, total0, work0 = measured()
    g0, a0, by_hand0 = _crossbar_by_hand(model, x, cfg)
    assert work0.core_activity == pytest.approx(a0, rel=1e-9)
    assert work0.core_g_fraction * n * n * PCM.g_max_us * 1e-6 == pytest.approx(g0, rel=1e-6)
    assert array0 == pytest.approx(by_hand0, rel=1e-6)
    # Train the feedback with the conductance budget alone (projected as the trainer does).
    # The budget is scale-invariant, as the chip is: it thins the cells against the
    # largest while the projection holds ‖W‖₂ at 1 − margin.
    opt = torch.optim.SGD([model.core.weight], lr=1e-6)
    config = PhysicsConfig(conductance=1.0)
    for _ in range(20):
        loss, _ = physics_loss(model, model.forward_with_info(x), config)
        opt.zero_grad()
        loss.backward()
        opt.step()
        model.project_contractive_()
    array1, total1, work1 = measured()
    g1, _, by_hand1 = _crossbar_by_hand(model, x, cfg)
    assert array1 == pytest.approx(by_hand1, rel=1e-6)
    assert g1 < 0.7 * g0
    assert float(torch.linalg.matrix_norm(model.core.weight.detach(), ord=2)) == (
        pytest.approx(0.9, rel=1e-5))
    assert array1 < 0.7 * array0
    # The loop time is held: the whole energy moves by exactly the crossbar's V²·ΣG·t.
    assert total0 - total1 == pytest.approx(by_hand0 - by_hand1, rel=1e-9)
    # An old cell's JSON (no measurements) is priced with the assumptions; a new one
    # round-trips.
    data = dataclasses.asdict(work1)
    assert workload_from(data) == work1
    old = {k: v for k, v in data.items() if k not in ("core_g_fraction", "core_activity")}
    assert workload_from(old) == dataclasses.replace(work1, core_g_fraction=None,
                                                     core_activity=None)


def _basis_fraction(n: int, m: int) -> float:
    phi = [abs(math.sin(math.pi * p * i / (n + 1))) for p in range(1, m + 1)
           for i in range(1, n + 1)]
    return sum(phi) / len(phi) / max(phi)


def test_the_spectral_paths_cells_are_priced_at_their_conductances() -> None:
    """A conv core with a spectral path: the kernel at every position, the mode blocks
    once and the fixed sine transforms at their own full scale."""
    torch.manual_seed(0)
    c, m, h, w = 3, 2, 6, 7
    model = ConvHybridDEQ(ConvHybridDEQConfig(
        in_channels=1, out_features=1, channels=c, stem_hidden=None, spectral_modes=m,
        hardware=HardwareConfig(weight_bits=4)))
    x = torch.randn(2, 1, h, w, generator=torch.Generator().manual_seed(1))

    def by_hand() -> float:
        with torch.no_grad():
            conv = model.core.effective_weight().abs().sum() / model.core.weight.abs().max()
            mix = model.spectral.effective_weight().abs().sum() / model.spectral.weight.abs().max()
        phi_h = c * m * h * w + c * h * m * m
        phi_w = c * m * m * w + c * h * m * w
        return (h * w * float(conv) + float(mix) + phi_h * _basis_fraction(h, m)
                + phi_w * _basis_fraction(w, m))

    work = model.workload(x)
    assert work.core_g_fraction * work.core_macs == pytest.approx(by_hand(), rel=1e-6)
    with torch.no_grad():  # only the spectral path changes: half its cells off
        model.spectral.weight[:, :, :, 0] = 0.0
    thinner = model.workload(x)
    assert thinner.core_g_fraction * thinner.core_macs == pytest.approx(by_hand(), rel=1e-6)
    assert thinner.core_g_fraction < work.core_g_fraction


def test_the_regularizer_ablation_prices_each_terms_crossbar() -> None:
    """Two regulariser cells that settle alike but whose cores draw differently: the
    ablation's energies differ by exactly their crossbars' V²·ΣG·t."""
    from hadeq.bench.assemble import _ablations
    from hadeq.bench.suites import SuiteConfig, TaskPlan

    hardware = HardwareConfig()
    cfg = EnergyConfig()
    n = 16
    base = DEQWorkload.dense(n, 64, 10)

    def cell(role: str, g_cell: float | None) -> dict:
        work = dataclasses.replace(base, core_g_fraction=g_cell,
                                   core_activity=None if g_cell is None else 0.4)
        return {"cell": {"role": role}, "evaluations": {"headline": {"quality": 0.9}},
                "near_zero_fraction": 0.1, "digital": {"iterations_mean": 12.0},
                "settling": {"settling_time_ns": 40.0, "sample_time_ns": T_S_NS,
                             "tau_ns": hardware.tau_ns},
                "workload": dataclasses.asdict(work)}

    by_role = {"physics_aware": [cell("physics_aware", 0.5)],
               "reg:conductance": [cell("reg:conductance", 0.2)],
               "reg:settling": [cell("reg:settling", None)]}  # an old cell: assumptions
    suite = SuiteConfig(name="t", tasks=(TaskPlan(task="digits"),), weight_bits=(),
                        read_noise=())
    regs = {r["term"]: r for r in _ablations(suite.tasks[0], suite, [], [], by_role, cfg,
                                             hardware, True)["regularizers"]}
    t_on_s = (T_S_NS + adc_read_time_ns(n, cfg)) * 1e-9
    g_max_s = hardware.g_max_us * 1e-6
    drop = cfg.v_read_v**2 * 0.4 * (0.5 - 0.2) * n * n * g_max_s * t_on_s
    assert regs["none"]["energy_j"] - regs["conductance"]["energy_j"] == pytest.approx(drop)
    assert regs["conductance"]["core_g_fraction"] == 0.2
    assert regs["settling"]["core_g_fraction"] is None
    assumed = cfg.v_read_v**2 * 0.5 * 2 * 0.25 * n * n * g_max_s * t_on_s
    bitline = cfg.bitline_energy_j(2 * n, n)
    assert regs["settling"]["array_energy_j"] == pytest.approx(assumed + bitline)


def test_the_activity_under_read_noise_does_not_depend_on_the_random_state_before() -> None:
    """The workload's equilibrium draws its read noise from a fixed seed: the same activity
    whatever drew from torch's generator before (the quick suite's energies repeated only
    to 1e-3 when it drew from the caller's stream), and the caller's stream is left as it
    was."""
    hw = HardwareConfig.preset("hermes_pcm_8bit").replace(read_noise=0.1)
    torch.manual_seed(0)
    model = HybridDEQ(HybridDEQConfig(in_features=64, out_features=10, hidden=16,
                                      stem_hidden=None, hardware=hw))
    x = _digits_like(8, 2)
    activities = []
    for seed in (1, 2):
        torch.manual_seed(seed)
        state = torch.random.get_rng_state()
        activities.append(model.workload(x).core_activity)
        assert torch.equal(torch.random.get_rng_state(), state)
    assert activities[0] == activities[1]
    # The noise is there: a noise-free chip settles elsewhere.
    quiet = HybridDEQ(HybridDEQConfig(in_features=64, out_features=10, hidden=16,
                                      stem_hidden=None, hardware=hw.replace(read_noise=0.0)))
    quiet.load_state_dict(model.state_dict())
    assert quiet.workload(x).core_activity != activities[0]
