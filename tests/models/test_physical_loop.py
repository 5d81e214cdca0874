"""The hybrid DEQ scored as the circuit runs: a calibrated chip's loop simulated from
a = 0 and sampled once at t_s, checked against a plain fixed-point solve of the same
programmed chip, a run at half the step, and the fixed-range noise it must have."""

from __future__ import annotations

import dataclasses
import math

import pytest
import torch

from hadeq.analog import HardwareConfig, LoopSampling
from hadeq.analog.loop import settle
from hadeq.deq import DEQConfig
from hadeq.errors import ConfigError
from hadeq.models import ConvHybridDEQ, ConvHybridDEQConfig, HybridDEQ, HybridDEQConfig
from hadeq.tasks import get_task
from hadeq.training import evaluate_model

PCM = HardwareConfig.preset("hermes_pcm_8bit")


def _model(hardware: HardwareConfig = PCM, seed: int = 0) -> HybridDEQ:
    torch.manual_seed(seed)
    model = HybridDEQ(HybridDEQConfig(in_features=16, hidden=24, out_features=4,
                                      hardware=hardware), seed=seed)
    with torch.no_grad():
        model.core.weight.mul_(1.6)  # more feedback than the initial 0.5·W
    model.project_contractive_()
    return model.eval()


def _picard(model: HybridDEQ, u: torch.Tensor) -> torch.Tensor:
    z = torch.zeros_like(u)
    for _ in range(3000):
        z = model._frozen_map(z, u)
    return z


def test_noise_free_loop_reaches_the_programmed_chips_fixed_point():
    model = _model()
    x = torch.randn(32, 16)
    model.calibrate_loop(x, LoopSampling(sample_time_ns=3000.0, noise=False))
    with torch.no_grad():
        out = model.forward_with_info(x)
        reference = _picard(model, out.u)
    assert out.stats.solver == "physical_loop"
    assert float((out.z_star - reference).abs().max()) < 1e-6


def test_halving_the_step_changes_settling_and_outputs_by_under_one_percent():
    model = _model()
    x = torch.randn(64, 16)
    coarse = model.clone().eval()
    fine = model.clone().eval()
    c = coarse.calibrate_loop(x, LoopSampling(noise=False))
    f = fine.calibrate_loop(x, LoopSampling(noise=False, dt_ns=PCM.tau_ns / 2))
    assert c.sample_time_ns == pytest.approx(f.sample_time_ns, rel=0.01)
    assert float(c.settling_ns.mean()) == pytest.approx(float(f.settling_ns.mean()), rel=0.01)
    with torch.no_grad():
        a, b = coarse(x), fine(x)
    assert float((a - b).norm() / b.norm()) < 0.01


def test_the_sampling_instant_covers_99_percent_of_the_calibration_inputs():
    model = _model()
    x = torch.randn(200, 16)
    calib = model.calibrate_loop(x)
    t = calib.settling_ns
    covered = float((t <= calib.sample_time_ns).double().mean())
    assert covered >= 0.99
    # and no earlier instant would do: the next-faster sample is below the quantile
    below = t[t < calib.sample_time_ns]
    assert below.numel() < 0.99 * t.numel()
    # settling is to half an LSB of the 8-bit ADC
    assert calib.tol == pytest.approx(1 / 254)


def test_ranges_are_fixed_so_one_inputs_scale_does_not_change_what_others_see():
    model = _model()
    x = torch.randn(16, 16)
    model.calibrate_loop(x)
    # the loop's noise intensity does not depend on the state's magnitude
    a = torch.randn(4000, 24)
    gen = torch.Generator().manual_seed(0)
    small = model.loop_noise(0.01 * a, gen).std()
    gen = torch.Generator().manual_seed(0)
    large = model.loop_noise(10.0 * a, gen).std()
    assert float(small) == pytest.approx(float(large), rel=1e-12)
    # scaling one input leaves every other sample's output (same noise draws) unchanged
    scaled = x.clone()
    scaled[0] *= 0.3
    with torch.no_grad(), torch.random.fork_rng(devices=[]):
        torch.manual_seed(5)
        y1 = model(x)
        torch.manual_seed(5)
        y2 = model(scaled)
    assert torch.equal(y1[1:], y2[1:])
    assert not torch.equal(y1[0], y2[0])


def test_read_noise_is_at_the_fixed_full_scale_of_one_device_at_the_rail():
    """Without feedback (W = 0) a sample's state is u + b plus an OU process of std
    ς/√2, ς = read_noise·max|W|·√(row tiles) (and the amplifiers' tiny share)."""
    hw = PCM.replace(read_noise=0.05)
    model = _model(hw)
    x = torch.randn(8, 16)
    model.calibrate_loop(x, LoopSampling(sample_time_ns=100.0))
    a = torch.zeros(20000, 24)
    noise = model.loop_noise(a, torch.Generator().manual_seed(1))
    scale = float(model.core.effective_tiles()[1].max())
    expected = 0.05 * scale * model.core.n_row_tiles ** 0.5
    assert float(noise.std()) == pytest.approx(expected, rel=0.03)


def test_a_new_chip_needs_a_new_calibration():
    model = _model()
    model.calibrate_loop(torch.randn(8, 16))
    model.program(3)
    assert model.loop_calibration is None
    model.calibrate_loop(torch.randn(8, 16))
    model.set_hardware(PCM.replace(read_noise=0.02), seed=1)
    assert model.loop_calibration is None


def test_physical_scoring_agrees_with_the_proxy_on_a_nearly_noise_free_chip():
    torch.manual_seed(0)
    task = get_task("digits")
    data = task.load(seed=0)
    model = HybridDEQ(HybridDEQConfig(in_features=64, hidden=32, out_features=10,
                                      hardware=PCM.replace(read_noise=0.002)))
    opt = torch.optim.Adam(model.parameters(), lr=1e-2)
    for _ in range(60):
        opt.zero_grad()
        loss = torch.nn.functional.cross_entropy(model(data.x_train[:512]),
                                                 data.y_train[:512])
        loss.backward()
        opt.step()
        model.project_contractive_()
    model.eval()
    physical = evaluate_model(model, task, data.x_test, data.y_test, seed=0,
                              loop=LoopSampling(), calibration_x=data.x_train[-256:])
    proxy = evaluate_model(model, task, data.x_test, data.y_test, seed=0)
    assert physical["loop"]["sample_time_ns"] > 0
    steps = math.ceil(physical["loop"]["sample_time_ns"] / physical["loop"]["dt_ns"] - 1e-9)
    assert physical["solver"]["iterations_mean"] == 4 * steps  # four evaluations a step
    assert physical["metrics"]["accuracy"] == pytest.approx(proxy["metrics"]["accuracy"],
                                                            abs=0.02)
    with pytest.raises(ConfigError, match="calibration_x"):
        evaluate_model(model, task, data.x_test, data.y_test, loop=LoopSampling())


def test_the_spectral_path_gets_fixed_mode_ranges_and_its_own_read_noise():
    torch.manual_seed(0)
    config = ConvHybridDEQConfig(in_channels=1, channels=4, out_features=1, head="field",
                                 spectral_modes=4, coordinates=False,
                                 hardware=PCM.replace(read_noise=0.05))
    model = ConvHybridDEQ(config).eval()
    x = torch.randn(6, 1, 12, 12)
    calib = model.calibrate_loop(x)
    assert calib.mode_full_scale is not None and calib.mode_full_scale.shape == (1, 4, 4)
    a = torch.zeros(64, 4, 12, 12)
    with_path = model.loop_noise(a, torch.Generator().manual_seed(0))
    model.loop_calibration = None  # without the path's calibration: the core's alone
    core_only = model.loop_noise(a, torch.Generator().manual_seed(0))
    assert float(with_path.var()) > float(core_only.var())
    # noise-free, the loop settles to the frozen map's fixed point
    model.calibrate_loop(x, LoopSampling(sample_time_ns=3000.0, noise=False))
    with torch.no_grad():
        out = model.forward_with_info(x)
        u = out.u
        z = torch.zeros_like(u)
        for _ in range(3000):
            z = model._frozen_map(z, u)
        result = settle(model.loop_operator(), model.sigma, u, model.loop_dynamics(), 1e-4)
    assert float((out.z_star - z).abs().max()) < 1e-5
    assert bool(result.time_ns.isfinite().all())


def test_training_through_the_physical_loop_has_the_implicit_gradient_at_its_state():
    """Noise-free, a long physical solve lands on the fixed point, so its gradient (the
    implicit adjoint through the proxy at the sampled state) equals the one of the
    configured solver's path; and the flag is validated."""
    hw = PCM.replace(read_noise=0.0)
    torch.manual_seed(0)
    x, target = torch.randn(16, 16), torch.randn(16, 4)
    grads = []
    for tau in (None, 300.0):
        torch.manual_seed(0)
        config = HybridDEQConfig(in_features=16, hidden=24, out_features=4, hardware=hw,
                                 proxy="frozen", physical_training_tau=tau,
                                 deq=DEQConfig(solver_options={"tol": 1e-9,
                                                               "max_iter": 500}))
        model = HybridDEQ(config, seed=0).train()
        # the amplifiers' noise (ς ≈ 2e-4) is always on: silence it to compare solves
        model.loop_noise_source = lambda: (  # type: ignore[method-assign]
            lambda a, generator: torch.zeros_like(a))
        model.zero_grad()
        out = model.forward_with_info(x)
        torch.nn.functional.mse_loss(out.output, target).backward()
        grads.append(torch.cat([p.grad.flatten() for p in model.parameters()
                                if p.grad is not None]))
        if tau is not None:
            assert out.stats.solver == "physical_loop"
            assert out.backward and out.backward[0].all_converged
    assert float((grads[0] - grads[1]).norm() / grads[0].norm()) < 1e-5
    with pytest.raises(ConfigError, match="physical_training_tau"):
        dataclasses.replace(config, physical_training_tau=-1.0)


def test_the_spectral_paths_amplifiers_are_charged_while_the_loop_runs():
    """Every intermediate node of the spectral path (C·m·W + C·m² + C·m² + C·H·m on an
    H × W grid) is an amplifier the energy model biases for the loop's time."""
    from hadeq.energy import EnergyConfig, hybrid_deq_energy
    from hadeq.energy.accounting import adc_read_time_ns

    torch.manual_seed(0)
    config = ConvHybridDEQConfig(in_channels=1, channels=4, out_features=1, head="field",
                                 spectral_modes=3, hardware=PCM)
    model = ConvHybridDEQ(config).eval()
    x = torch.randn(2, 1, 10, 12)
    workload = model.workload(x)
    c, m, h, w = 4, 3, 10, 12
    assert workload.path_amplifiers == c * m * w + c * m * m + c * m * m + c * h * m
    energy = EnergyConfig()
    with_path = hybrid_deq_energy(workload, 50.0, energy, hardware=PCM)
    without = hybrid_deq_energy(dataclasses.replace(workload, path_amplifiers=0), 50.0,
                                energy, hardware=PCM)
    extra = with_path.energy.amplifier_j - without.energy.amplifier_j
    t_on_ns = 50.0 + adc_read_time_ns(workload.neurons, energy)  # biased until sampled
    assert extra == pytest.approx(workload.path_amplifiers * 1e-9 * t_on_ns
                                  * energy.amp_power_per_amp_w(PCM.tau_ns), rel=1e-9)


def test_a_calibration_is_reused_across_read_noise_but_not_across_chips():
    model = _model()
    x = torch.randn(32, 16)
    chip = model.clone().eval()
    chip.set_hardware(PCM.replace(read_noise=0.05), seed=3)
    calib = chip.calibrate_loop(x)
    other_noise = model.clone().eval()
    other_noise.set_hardware(PCM.replace(read_noise=0.1), seed=3)
    other_noise.adopt_loop_calibration(calib)  # same programmed chip, more read noise
    fresh = other_noise.clone().eval()
    fresh.set_hardware(PCM.replace(read_noise=0.1), seed=3)
    assert fresh.calibrate_loop(x).sample_time_ns == calib.sample_time_ns
    for hw, seed in ((PCM.replace(read_noise=0.05), 4), (PCM.replace(weight_bits=4), 3)):
        elsewhere = model.clone().eval()
        elsewhere.set_hardware(hw, seed=seed)
        with pytest.raises(ConfigError, match="calibration"):
            elsewhere.adopt_loop_calibration(calib)


def test_a_clone_is_the_same_chip_and_errors_cross_process_boundaries():
    """A copy keeps the programming seed (the same chip), so it may take the original's
    calibration; a ConfigError survives pickling (a bench cell's worker raises it)."""
    import pickle

    model = _model()
    model.set_hardware(PCM, seed=5)
    calib = model.calibrate_loop(torch.randn(16, 16))
    copy = model.clone().eval()
    assert [layer.seed for layer in copy.analog_layers()] == [5]
    copy.adopt_loop_calibration(calib)
    error = pickle.loads(pickle.dumps(ConfigError("calibration", 3, "one of this chip")))
    assert isinstance(error, ConfigError) and str(error) == (
        "calibration=3 is not allowed: one of this chip")
