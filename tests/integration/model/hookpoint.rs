//! `HookPoint` names (round trip of every variant, ordering, `all`), glob matching and the
//! ready-made head edits.
use candle_core::{DType, Device, Tensor, D};
use indu::hooks::{glob_match, Edit, HookPoint, Hooks};
use indu::Result;
fn abs_sum_last(x: &Tensor) -> Result<Tensor> {
    Ok(x.abs()?.sum(D::Minus1)?)
}

#[test]
fn every_variant_round_trips() {
    let all = HookPoint::all(3, false, true);
    assert_eq!(all.len(), 4 + 3 * 18);
    for hp in all {
        let s = hp.to_string();
        assert_eq!(s.parse::<HookPoint>().ok(), Some(hp), "{s}");
    }
    assert_eq!(
        HookPoint::Pattern(1).to_string(),
        "blocks.1.attn.hook_pattern"
    );
    assert_eq!(HookPoint::MlpPre(0).to_string(), "blocks.0.mlp.hook_pre");
    assert_eq!(HookPoint::LnFinalScale.to_string(), "ln_final.hook_scale");
    for bad in [
        "blocks.01.hook_resid_pre",
        "blocks.+1.hook_resid_pre",
        "blocks.x.hook_resid_pre",
        "blocks.0.hook_embed",
        "hook_nothing",
        "",
    ] {
        assert!(bad.parse::<HookPoint>().is_err(), "{bad}");
    }
}

#[test]
fn all_filters_and_orders() {
    let a = HookPoint::all(2, true, false);
    assert_eq!(a.len(), 2 + 2 * 10);
    assert!(!a.contains(&HookPoint::ResidMid(0)));
    assert!(!a.contains(&HookPoint::Ln1Scale(0)));
    let mut sorted = a.clone();
    sorted.sort();
    assert_eq!(a, sorted);
    assert!(HookPoint::ResidPost(0) < HookPoint::ResidPre(1));
    assert!(HookPoint::ResidPost(9) < HookPoint::LnFinalScale);
}

#[test]
fn glob() {
    assert!(glob_match(
        "blocks.*.attn.hook_pattern",
        "blocks.12.attn.hook_pattern"
    ));
    assert!(!glob_match(
        "blocks.*.attn.hook_pattern",
        "blocks.1.attn.hook_z"
    ));
    assert!(glob_match("*", "hook_embed"));
    assert!(glob_match("*hook_*", "ln_final.hook_scale"));
    assert!(glob_match("hook_embed", "hook_embed"));
    assert!(!glob_match("hook_embed", "hook_embeds"));
    assert!(glob_match("a*b*c", "aXbYbc"));
    assert!(!glob_match("a*b*c", "aXbYbd"));
    let h = Hooks::capture(&["blocks.0.*", "*hook_pattern"]);
    assert!(h.is_active(HookPoint::Q(0)));
    assert!(h.is_active(HookPoint::Pattern(3)));
    assert!(!h.is_active(HookPoint::Q(1)));
    assert!(!Hooks::new().is_active(HookPoint::Embed));
}

#[test]
fn zero_and_mean_head() -> Result<()> {
    let x = Tensor::arange(0f32, 24., &Device::Cpu)?.reshape((2, 1, 3, 4))?;
    let z = Edit::ZeroHead { head: 1 }.apply(HookPoint::Z(0), &x)?;
    let s = abs_sum_last(&z)?.flatten_all()?.to_vec1::<f32>()?;
    assert_eq!(s[1], 0.0);
    assert_eq!(s[4], 0.0);
    assert!(s[0] > 0.0 || s[2] > 0.0);
    let m = Edit::MeanHead {
        head: 2,
        mean: None,
    }
    .apply(HookPoint::Z(0), &x)?;
    let v = m.to_dtype(DType::F32)?.flatten_all()?.to_vec1::<f32>()?;
    // head 2 of batch 0 is 8..12, of batch 1 is 20..24: mean 14..18.
    assert_eq!(&v[8..12], &[14., 15., 16., 17.]);
    assert_eq!(&v[20..24], &[14., 15., 16., 17.]);
    assert!(Edit::ZeroHead { head: 3 }
        .apply(HookPoint::Z(0), &x)
        .is_err());
    assert!(Hooks::new().zero_ablate_head(HookPoint::Embed, 0).is_err());
    Ok(())
}
