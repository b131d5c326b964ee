"""The 3KG network (:mod:`threekg_lite.models`): shapes, clear errors, parameter and FLOP
counts against counts written straight from the architecture, seeded initialisation, config
round trips, training and mixed precision (bf16 on CPU, and on CUDA where there is one)."""

from __future__ import annotations

import json
import math

import pytest
import torch

from threekg_lite.data.preprocess import scale_input
from threekg_lite.encoders.cost import count_parameters, forward_flops
from threekg_lite.encoders.resnet1d import ResNet1d
from threekg_lite.models import PRESETS, ContrastiveModel, build_model

KERNELS = [3, 7, 15]
# Reference figures from the project's notes: encoder parameters and forward FLOPs per 12 x 2500.
REFERENCE_PARAMS = {3: 3.85e6, 7: 8.73e6, 15: 18.5e6}
REFERENCE_FLOPS = {3: 0.87e9, 7: 1.96e9, 15: 4.15e9}


def _gen(seed: int = 0) -> torch.Generator:
    return torch.Generator().manual_seed(seed)


def _tiny(seed: int = 0) -> ContrastiveModel:
    return build_model("tiny", generator=_gen(seed))


def _meta_encoder(kernel_size: int) -> ResNet1d:
    """The full-width encoder allocated on the meta device: counts without compute."""
    with torch.device("meta"):
        return ResNet1d(kernel_size=kernel_size)


def analytic_params(in_ch: int = 12, width: int = 64, k: int = 3, layers=(2, 2, 2, 2)) -> int:
    """Encoder parameters from the architecture: conv weights C_in*C_out*k, BN 2*C."""
    n = in_ch * width * 7 + 2 * width  # stem conv + BN
    c_in = width
    for i, n_blocks in enumerate(layers):
        c_out = width * 2**i
        for b in range(n_blocks):
            c = c_in if b == 0 else c_out
            n += c * c_out * k + 2 * c_out + c_out * c_out * k + 2 * c_out
            if b == 0 and i > 0:  # 1x1 downsample conv + BN
                n += c * c_out + 2 * c_out
        c_in = c_out
    return n


def analytic_flops(length: int, in_ch: int = 12, width: int = 64, k: int = 3, layers=(2, 2, 2, 2)):
    """Encoder forward FLOPs: 2 * C_in * C_out * k * L_out per convolution."""

    def out_len(n: int, kernel: int, stride: int, pad: int) -> int:
        return (n + 2 * pad - kernel) // stride + 1

    length = out_len(length, 7, 2, 3)
    flops = 2 * in_ch * width * 7 * length
    length = out_len(length, 3, 2, 1)  # max-pool: no FLOPs counted
    c_in = width
    for i, n_blocks in enumerate(layers):
        c_out = width * 2**i
        stride = 1 if i == 0 else 2
        new_length = out_len(length, k, stride, k // 2)
        flops += 2 * c_in * c_out * k * new_length + 2 * c_out * c_out * k * new_length
        if i > 0:
            flops += 2 * c_in * c_out * 1 * out_len(length, 1, stride, 0)
        flops += (n_blocks - 1) * 2 * (2 * c_out * c_out * k * new_length)
        length, c_in = new_length, c_out
    return flops


# --- shapes and errors ----------------------------------------------------------------------


@pytest.mark.parametrize("batch", [1, 3])
@pytest.mark.parametrize("length", [251, 500])
def test_output_shapes(batch, length):
    model = _tiny().eval()  # eval: batch norm accepts a batch of 1
    x = torch.randn(batch, 12, length)
    with torch.no_grad():
        z, h = model(x), model.features(x)
    assert z.shape == (batch, PRESETS["tiny"]["proj_dim"])
    assert h.shape == (batch, model.encoder.out_dim) == (batch, 8 * 16)
    assert torch.equal(h, model.encoder(x))


def test_full_size_shapes_and_feature_length():
    model = build_model(generator=_gen()).eval()
    assert model.encoder.out_dim == 512
    x = torch.randn(2, 12, 251)
    with torch.no_grad():
        assert model(x).shape == (2, 128)
        assert model.features(x).shape == (2, 512)
        enc = model.encoder
        for length in (32, 33, 251, 500):
            fmap = enc.stages(enc.stem(torch.randn(1, 12, length)))
            assert fmap.shape == (1, 512, enc.feature_length(length)) == (1, 512, -(-length // 32))


def test_train_mode_forward():
    model = _tiny().train()
    assert model(torch.randn(3, 12, 251)).shape == (3, 64)


def test_too_short_input_is_rejected():
    model = _tiny().eval()
    assert model.encoder.min_length == 32
    with pytest.raises(ValueError, match=r"31 samples is too short.*T >= 32"):
        model(torch.randn(2, 12, 31))
    with torch.no_grad():
        assert model(torch.randn(1, 12, 32)).shape == (1, 64)  # the shortest accepted


def test_wrong_shape_is_rejected():
    model = _tiny().eval()
    with pytest.raises(ValueError, match=r"expected \(B, 12, T\).*\(2, 8, 500\).*8 channels"):
        model(torch.randn(2, 8, 500))
    with pytest.raises(ValueError, match=r"expected \(B, 12, T\).*2-D"):
        model.features(torch.randn(12, 500))
    enc = ResNet1d(in_channels=8, width=8, layers=(1,))
    with pytest.raises(ValueError, match=r"expected \(B, 8, T\)"):
        enc(torch.randn(2, 12, 500))


@pytest.mark.parametrize(
    "kwargs, match",
    [
        (dict(kernel_size=4), "kernel_size must be odd"),
        (dict(kernel_size=0), "kernel_size must be an integer >= 1"),
        (dict(width=0), "width must be an integer >= 1"),
        (dict(in_channels=12.0), "in_channels must be an integer >= 1"),
        (dict(layers=()), "at least one stage"),
        (dict(layers=(2, 0)), r"layers\[1\] must be an integer >= 1"),
        (dict(layers=2), "layers must be a sequence"),
    ],
)
def test_encoder_validates_arguments(kwargs, match):
    with pytest.raises(ValueError, match=match):
        ResNet1d(**kwargs)


# --- parameter and FLOP counts --------------------------------------------------------------


@pytest.mark.parametrize("k", KERNELS)
def test_parameter_count(k):
    n = count_parameters(_meta_encoder(k))
    assert n == analytic_params(k=k)
    assert n == pytest.approx(REFERENCE_PARAMS[k], rel=0.005)


def test_parameter_count_real_model_and_head():
    model = build_model()
    assert count_parameters(model.encoder) == analytic_params()
    head = 512 * 512 + 512 + 2 * 512 + 512 * 128 + 128
    assert count_parameters(model) == analytic_params() + head
    tiny = _tiny()
    tiny_head = 128 * 64 + 64 + 2 * 64 + 64 * 64 + 64
    assert count_parameters(tiny.encoder) == analytic_params(width=16, layers=(1, 1, 1, 1))
    assert count_parameters(tiny) == count_parameters(tiny.encoder) + tiny_head
    for p in tiny.head.parameters():
        p.requires_grad_(False)
    assert count_parameters(tiny) == count_parameters(tiny.encoder)  # trainable only


@pytest.mark.parametrize("k", KERNELS)
def test_forward_flops(k):
    flops = forward_flops(_meta_encoder(k), 2500)
    assert flops == analytic_flops(2500, k=k)
    assert flops == pytest.approx(REFERENCE_FLOPS[k], rel=0.01)


def test_forward_flops_real_model_is_left_unchanged():
    model = build_model("tiny", generator=_gen()).train()
    before = {k: v.clone() for k, v in model.state_dict().items()}
    enc = analytic_flops(500, width=16, layers=(1, 1, 1, 1))
    head = 2 * (128 * 64 + 64 * 64)  # the two linear layers' matrix products
    assert forward_flops(model.encoder, 500) == enc
    assert forward_flops(model, 500, batch=3) == 3 * (enc + head)
    assert model.training and all(m.training for m in model.modules())
    after = model.state_dict()
    assert all(torch.equal(before[k], after[k]) for k in before)  # running stats too


# --- initialisation -------------------------------------------------------------------------


def _same(a: torch.nn.Module, b: torch.nn.Module) -> bool:
    sa, sb = a.state_dict(), b.state_dict()
    return sa.keys() == sb.keys() and all(torch.equal(sa[k], sb[k]) for k in sa)


def test_seeded_init_is_deterministic():
    torch.manual_seed(1)
    a = build_model(generator=_gen(0))
    torch.manual_seed(2)
    rng = torch.get_rng_state()
    b = build_model(generator=_gen(0))
    assert torch.equal(rng, torch.get_rng_state())  # the global RNG is not drawn from
    c = build_model(generator=_gen(1))
    assert _same(a, b)
    assert not _same(a, c)
    assert all(not torch.equal(p, q) for p, q in zip(a.parameters(), c.parameters()) if p.ndim > 1)


@pytest.mark.parametrize("seeded", [True, False])
def test_init_laws(seeded):
    model = build_model(generator=_gen(3) if seeded else None)
    conv = model.encoder.stages[3][0].conv1.weight  # 512 x 256 x 3: fan_out != fan_in
    std = math.sqrt(2 / (conv.shape[0] * conv.shape[2]))  # kaiming normal, fan_out, ReLU
    assert conv.std().item() == pytest.approx(std, rel=0.01)
    assert abs(conv.mean().item()) < 0.01 * std
    lin = model.head.net[0]
    bound = 1 / math.sqrt(lin.in_features)
    assert lin.weight.abs().max() <= bound and lin.weight.abs().max() > 0.99 * bound
    assert lin.bias.abs().max() <= bound
    assert lin.weight.std().item() == pytest.approx(bound / math.sqrt(3), rel=0.02)  # U(-b, b)
    bn = model.encoder.stages[0][0].bn1
    assert torch.all(bn.weight == 1) and torch.all(bn.bias == 0)
    assert torch.all(bn.running_mean == 0) and torch.all(bn.running_var == 1)
    assert bn.num_batches_tracked.item() == 0


# --- configs --------------------------------------------------------------------------------


@pytest.mark.parametrize("source", ["default", "tiny", "k7"])
def test_config_round_trip(source):
    model = {
        "default": lambda: build_model(),
        "tiny": lambda: build_model("tiny"),
        "k7": lambda: build_model("resnet18", kernel_size=7, proj_dim=64),
    }[source]()
    config = model.config
    assert json.loads(json.dumps(config)) == config
    assert config["arch"] == "resnet18_1d"
    rebuilt = build_model(json.loads(json.dumps(config)))
    assert rebuilt.config == config
    sa, sb = model.state_dict(), rebuilt.state_dict()
    assert list(sa) == list(sb)
    assert all(sa[k].shape == sb[k].shape for k in sa)


def test_presets():
    assert build_model("resnet18").config == build_model().config
    assert build_model("resnet18-k7").config["kernel_size"] == 7
    tiny = build_model("tiny").config
    assert (tiny["width"], tiny["kernel_size"], tiny["layers"]) == (16, 3, [1, 1, 1, 1])
    assert (tiny["proj_hidden"], tiny["proj_dim"]) == (64, 64)
    assert build_model().config["proj_hidden"] == 512  # None resolved to the encoder's out_dim


@pytest.mark.parametrize(
    "config, overrides, match",
    [
        ({"depth": 18}, {}, r"unknown config keys \['depth'\]"),
        (None, {"dropout": 0.1}, r"unknown config keys \['dropout'\]"),
        ({"arch": "resnet50_1d"}, {}, "unknown arch 'resnet50_1d'"),
        ("resnet99", {}, "unknown preset 'resnet99'"),
        ("tiny", {"kernel_size": 4}, "kernel_size must be odd"),
        (None, {"proj_dim": 0}, "out_dim must be an integer >= 1"),
    ],
)
def test_bad_config_is_rejected(config, overrides, match):
    with pytest.raises(ValueError, match=match):
        build_model(config, **overrides)


# --- training and mixed precision -----------------------------------------------------------


def test_tiny_forward_backward():
    model = _tiny().train()
    x = torch.randn(4, 12, 500)
    loss = model(x).pow(2).mean()
    loss.backward()
    for name, p in model.named_parameters():
        assert p.grad is not None, name
        assert torch.isfinite(p.grad).all(), name
    assert any(p.grad.abs().sum() > 0 for p in model.encoder.parameters())


def test_bf16_autocast_cpu():
    model = _tiny().eval()
    x = torch.randn(2, 12, 500, generator=_gen(5))
    with torch.no_grad():
        ref = model.features(x)
        with torch.autocast("cpu", dtype=torch.bfloat16):
            z, h = model(x), model.features(x)
    assert torch.isfinite(z).all() and torch.isfinite(h).all()
    assert (h.float() - ref).norm() / ref.norm() < 0.05


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")
def test_cuda_bf16_matches_cpu():
    model = _tiny().eval()
    x = torch.randn(4, 12, 500, generator=_gen(7))
    with torch.no_grad():
        ref = model.features(x)
        model_gpu = model.to("cuda")
        with torch.autocast("cuda", dtype=torch.bfloat16):
            out = model_gpu.features(x.to("cuda"))
    out = out.float().cpu()
    assert out.shape == ref.shape
    assert torch.isfinite(out).all()
    assert (out - ref).norm() / ref.norm() < 0.05


# ---------------------------------------------------------------- lead-wise layout


def test_leadwise_encoder_equals_a_loop_over_leads():
    """h = mean over leads l of f(x_l), f the shared single-lead network (eval mode)."""
    model = build_model("tiny-leadwise", generator=torch.Generator().manual_seed(0)).eval()
    x = torch.randn(3, 12, 256, generator=torch.Generator().manual_seed(1))
    net = model.encoder.net
    assert net.in_channels == 1
    with torch.no_grad():
        reference = torch.stack([net(x[:, lead : lead + 1]) for lead in range(12)]).mean(0)
        got = model.features(x)
    assert got.shape == (3, model.encoder.out_dim)
    torch.testing.assert_close(got, reference, rtol=1e-5, atol=1e-6)


def test_leadwise_encoder_is_invariant_to_the_order_of_the_leads():
    model = build_model("tiny-leadwise", generator=torch.Generator().manual_seed(0)).eval()
    x = torch.randn(2, 12, 128, generator=torch.Generator().manual_seed(2))
    with torch.no_grad():
        torch.testing.assert_close(
            model.features(x), model.features(x[:, torch.randperm(12)]), rtol=1e-5, atol=1e-6
        )


def test_layout_round_trips_through_config_and_checkpoint(tmp_path):
    from threekg_lite.models import load_model
    from threekg_lite.runtime.checkpoint import save_checkpoint

    model = build_model("tiny-leadwise", generator=torch.Generator().manual_seed(3))
    assert model.config["layout"] == "lead-wise"
    assert build_model(model.config).config == model.config
    path = save_checkpoint(
        tmp_path / "c.pt", {"model_config": model.config, "model": model.state_dict(), "step": 0}
    )
    loaded = load_model(path)
    x = torch.randn(2, 12, 128)
    with torch.no_grad():
        torch.testing.assert_close(loaded.features(x), model.eval().features(x))


def test_a_config_without_layout_is_the_12_channel_network():
    config = {k: v for k, v in build_model("tiny").config.items() if k != "layout"}
    assert build_model(config).layout == "12-channel"


def test_unknown_layout_is_refused():
    with pytest.raises(ValueError, match="layout must be '12-channel' or 'lead-wise'"):
        build_model("tiny", layout="per-lead")


def test_leadwise_costs_about_twelve_times_the_flops():
    channels = forward_flops(build_model("tiny").encoder, 1000)
    leadwise = forward_flops(build_model("tiny-leadwise").encoder, 1000)
    assert 10 < leadwise / channels < 12.5


# ------------------------------------------------------------ input scaling


def test_range_scaling_divides_each_record_by_its_range_over_all_leads():
    x = torch.randn(3, 12, 50, generator=_gen(1), dtype=torch.float64)
    x[1] *= 7.0
    x[2] = 0.25  # flat: left as it is
    got = scale_input(x, "range")
    for b in range(3):
        values = [float(v) for v in x[b].flatten()]
        span = max(values) - min(values)
        expected = x[b] / span if span > 0 else x[b]
        torch.testing.assert_close(got[b], expected)
    # One factor per record: the ratios between leads stay.
    torch.testing.assert_close(got[0, 3] / got[0, 5], x[0, 3] / x[0, 5])
    assert scale_input(x, "none") is x
    torch.testing.assert_close(scale_input(5.0 * x[:2], "range"), got[:2])
    with pytest.raises(ValueError, match="input_norm"):
        scale_input(x, "zscore")


def test_input_norm_is_part_of_the_model_config():
    model = build_model("tiny", input_norm="range")
    assert model.input_norm == "range" and model.config["input_norm"] == "range"
    assert build_model(model.config).input_norm == "range"
    assert build_model("tiny").config["input_norm"] == "none"
    with pytest.raises(ValueError, match="input_norm"):
        build_model("tiny", input_norm="zscore")
