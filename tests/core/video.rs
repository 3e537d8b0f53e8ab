//! Frames, recorded evaluation episodes and MP4 export.
#![cfg_attr(not(feature = "h264"), allow(unused_imports, dead_code))]

use rl_research::algos::nets::{Init, Mlp};
use rl_research::algos::{Policy, PolicyHead};
use rl_research::config::Activation;
use rl_research::envs::render::{Frame, RenderState, render};
use rl_research::envs::{Action, Env};
use rl_research::rng::Rng;
use rl_research::runner::replay::{load_episodes, record_episodes, save_episodes, write_episodes_video};

fn cartpole_at(x: f64, theta: f64) -> Frame {
    render(&RenderState::CartPole { state: [x, 0.0, theta, 0.0] })
}

fn is_black(p: [u8; 3]) -> bool {
    p.iter().all(|&c| c < 40)
}

#[test]
fn cartpole_frame_puts_the_cart_in_the_right_column() {
    let f = cartpole_at(0.0, 0.0);
    if let Some(dir) = std::env::var_os("RL_RESEARCH_DUMP") {
        std::fs::write(std::path::Path::new(&dir).join("cart0.ppm"), f.to_ppm()).unwrap();
    }
    assert_eq!((f.width, f.height, f.rgb.len()), (600, 400, 600 * 400 * 3));
    // Cart centred on the track (y=100, row 300): rows 285..315, 50 px wide.
    assert!(is_black(f.pixel(285, 310)));
    assert!(!is_black(f.pixel(340, 310)));
    // x = 1 m -> 125 px right of centre.
    let g = cartpole_at(1.0, 0.0);
    assert!(is_black(g.pixel(410, 310)));
    assert!(!is_black(g.pixel(285, 310)));
    // The axle is blue, at the cart's centre a quarter-height above the track.
    let axle = f.pixel(300, 292);
    assert!(axle[2] > 150 && axle[0] < 160, "{axle:?}");
    // Upright pole is wood-coloured above the cart; tilted, it moves over.
    assert_eq!(f.pixel(300, 220), [202, 152, 101]);
    let tilted = cartpole_at(0.0, 0.2);
    assert_ne!(tilted.pixel(300, 220), [202, 152, 101]);
}

fn downsample(f: &Frame) -> Vec<u8> {
    // 10x10 block means: 60x40 RGB.
    let mut out = Vec::with_capacity(60 * 40 * 3);
    for by in 0..40 {
        for bx in 0..60 {
            for c in 0..3 {
                let mut s = 0u32;
                for y in 0..10 {
                    for x in 0..10 {
                        s += f.pixel(bx * 10 + x, by * 10 + y)[c] as u32;
                    }
                }
                out.push((s / 100) as u8);
            }
        }
    }
    out
}

fn check_golden(name: &str, f: &Frame) {
    if let Some(dir) = std::env::var_os("RL_RESEARCH_DUMP") {
        std::fs::write(std::path::Path::new(&dir).join(format!("{name}.ppm")), f.to_ppm()).unwrap();
    }
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/golden").join(format!("{name}.rgb"));
    let small = downsample(f);
    if std::env::var_os("RL_RESEARCH_BLESS").is_some() {
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(&path, &small).unwrap();
    }
    let golden = std::fs::read(&path).unwrap_or_else(|e| panic!("{} ({e}); regenerate with RL_RESEARCH_BLESS=1", path.display()));
    let mean_diff = small.iter().zip(&golden).map(|(a, b)| (*a as f64 - *b as f64).abs()).sum::<f64>() / small.len() as f64;
    assert_eq!(small.len(), golden.len());
    assert!(mean_diff < 1.5, "{name}: mean abs difference {mean_diff:.2} to the golden image");
}

fn lunar_frame_after(steps: &[usize]) -> (Frame, Box<dyn Env>) {
    let mut cfg = rl_research::config::EnvConfig::default();
    cfg.id = "LunarLander-v3".into();
    let mut env = cfg.make().unwrap();
    env.set_render(true);
    let mut obs = [0f32; 8];
    env.reset(Some(0), &mut obs);
    for &a in steps {
        env.step(Action::Discrete(a), &mut obs);
    }
    (render(&env.render_state().unwrap()), env)
}

#[test]
fn lunar_frame_has_sky_lander_flags_and_flames() {
    let (f, _) = lunar_frame_after(&[0; 20]);
    let count = |c: [u8; 3]| (0..400).flat_map(|y| (0..600).map(move |x| (x, y))).filter(|&(x, y)| f.pixel(x, y) == c).count();
    assert!(count([128, 102, 230]) > 300, "lander body colour missing");
    assert!(count([0, 0, 0]) > 600 * 400 / 3, "black sky missing");
    assert!(count([255, 255, 255]) > 600 * 40, "white moon surface missing");
    assert!(count([204, 204, 0]) > 50, "helipad flags missing");
    check_golden("cartpole", &cartpole_at(0.3, -0.1));
    check_golden("lunarlander", &f);
    // Firing the main engine leaves flame particles in the next frames.
    let (g, _) = lunar_frame_after(&[2; 5]);
    let reddish = (0..400)
        .flat_map(|y| (0..600).map(move |x| (x, y)))
        .filter(|&(x, y)| {
            let p = g.pixel(x, y);
            p[0] > 150 && p[1] < 140 && p[2] < 140
        })
        .count();
    assert!(reddish > 5, "no engine particles drawn");
}

#[cfg(feature = "h264")]
fn random_policy(obs_dim: usize, n_actions: usize) -> Policy {
    let device = rl_research::algos::device::cpu().device;
    let net = Mlp::new(&[obs_dim, 16, n_actions], Activation::Tanh, Init::TorchDefault, &mut Rng::seed_from_u64(1), &device);
    let critic =
        Mlp::new(&[obs_dim, 16, 1], Activation::Tanh, Init::TorchDefault, &mut Rng::seed_from_u64(2), &device).to_weights().unwrap();
    Policy::new(net, PolicyHead::Logits, device).with_critic(&critic).unwrap()
}

#[cfg(feature = "h264")]
/// Minimal ISO-BMFF reader: top-level boxes, and the payload of a path of boxes.
fn boxes(data: &[u8]) -> Vec<(String, &[u8])> {
    let mut out = Vec::new();
    let mut at = 0;
    while at + 8 <= data.len() {
        let size = u32::from_be_bytes(data[at..at + 4].try_into().unwrap()) as usize;
        let kind = String::from_utf8_lossy(&data[at + 4..at + 8]).to_string();
        if size < 8 || at + size > data.len() {
            break;
        }
        out.push((kind, &data[at + 8..at + size]));
        at += size;
    }
    out
}

#[cfg(feature = "h264")]
fn find<'a>(data: &'a [u8], path: &[&str]) -> &'a [u8] {
    let (first, rest) = path.split_first().unwrap();
    let payload = boxes(data).into_iter().find(|(k, _)| k == first).unwrap_or_else(|| panic!("box {first} missing")).1;
    if rest.is_empty() { payload } else { find(payload, rest) }
}

#[cfg(feature = "h264")]
fn psnr(a: &[u8], b: &[u8]) -> f64 {
    let mse = a.iter().zip(b).map(|(x, y)| (*x as f64 - *y as f64).powi(2)).sum::<f64>() / a.len() as f64;
    10.0 * (255.0f64 * 255.0 / mse.max(1e-10)).log10()
}

#[cfg(feature = "h264")]
#[test]
fn mp4_decodes_back_to_the_rendered_frames_and_replays_match() {
    let dir = crate::temp_dir("video");
    let mut env = rl_research::config::EnvConfig::default().make().unwrap();
    let policy = random_policy(4, 2);
    let episodes = record_episodes(&policy, env.as_mut(), 2, 7).unwrap();
    let n_frames: usize = episodes.iter().map(|e| e.n_frames()).sum();
    assert_eq!(n_frames, episodes.iter().map(|e| e.length as usize + 1).sum::<usize>());
    let probs = episodes[0].steps[0].policy.probs.as_ref().unwrap();
    assert!((probs.iter().sum::<f32>() - 1.0).abs() < 1e-5 && episodes[0].steps[0].policy.value.is_some());

    let path = dir.join("eval.mp4");
    let stats = write_episodes_video(&episodes, &path, 50.0, &mut |_, _| {}).unwrap();
    assert_eq!(stats.frames as usize, n_frames);
    assert!(!rl_research::video::partial_path(&path).exists());
    let data = std::fs::read(&path).unwrap();
    let top: Vec<String> = boxes(&data).into_iter().map(|(k, _)| k).collect();
    assert_eq!(top.first().map(String::as_str), Some("ftyp"));
    let (moov, mdat) = (top.iter().position(|k| k == "moov").unwrap(), top.iter().position(|k| k == "mdat").unwrap());
    assert!(moov < mdat, "moov must come before mdat (fast start): {top:?}");

    // Decode: SPS/PPS from avcC, samples are length-prefixed NAL units in mdat.
    let stbl = find(&data, &["moov", "trak", "mdia", "minf", "stbl"]);
    let stsz = find(stbl, &["stsz"]);
    let count = u32::from_be_bytes(stsz[8..12].try_into().unwrap()) as usize;
    assert_eq!(count, n_frames, "sample count");
    let stsd = find(stbl, &["stsd"]);
    let avc1 = &stsd[8..];
    let avc1_payload = boxes(avc1).into_iter().find(|(k, _)| k == "avc1").unwrap().1;
    assert_eq!(u16::from_be_bytes(avc1_payload[24..26].try_into().unwrap()), 600);
    assert_eq!(u16::from_be_bytes(avc1_payload[26..28].try_into().unwrap()), 400);
    let avcc = boxes(&avc1_payload[78..]).into_iter().find(|(k, _)| k == "avcC").unwrap().1;
    let mut annexb = Vec::new();
    let mut at = 6;
    let sps_len = u16::from_be_bytes(avcc[at..at + 2].try_into().unwrap()) as usize;
    annexb.extend_from_slice(&[0, 0, 0, 1]);
    annexb.extend_from_slice(&avcc[at + 2..at + 2 + sps_len]);
    at += 2 + sps_len + 1;
    let pps_len = u16::from_be_bytes(avcc[at..at + 2].try_into().unwrap()) as usize;
    annexb.extend_from_slice(&[0, 0, 0, 1]);
    annexb.extend_from_slice(&avcc[at + 2..at + 2 + pps_len]);
    let sizes: Vec<usize> = (0..count).map(|i| u32::from_be_bytes(stsz[12 + 4 * i..16 + 4 * i].try_into().unwrap()) as usize).collect();
    let mdat_payload = find(&data, &["mdat"]);
    let mut decoder = openh264::decoder::Decoder::new().unwrap();
    let mut decoded = Vec::new();
    let mut off = 0;
    for (i, size) in sizes.iter().enumerate() {
        let sample = &mdat_payload[off..off + size];
        off += size;
        let mut packet = if i == 0 { annexb.clone() } else { Vec::new() };
        let mut p = 0;
        while p + 4 <= sample.len() {
            let n = u32::from_be_bytes(sample[p..p + 4].try_into().unwrap()) as usize;
            packet.extend_from_slice(&[0, 0, 0, 1]);
            packet.extend_from_slice(&sample[p + 4..p + 4 + n]);
            p += 4 + n;
        }
        if let Some(yuv) = decoder.decode(&packet).unwrap() {
            let mut rgb = vec![0u8; 600 * 400 * 3];
            yuv.write_rgb8(&mut rgb);
            decoded.push(rgb);
        }
    }
    for yuv in decoder.flush_remaining().unwrap() {
        let mut rgb = vec![0u8; 600 * 400 * 3];
        yuv.write_rgb8(&mut rgb);
        decoded.push(rgb);
    }
    assert_eq!(decoded.len(), n_frames, "decoded frame count");
    let rendered: Vec<Frame> = episodes.iter().flat_map(|e| (0..e.n_frames()).map(|k| e.frame(k).unwrap())).collect();
    let worst = decoded.iter().zip(&rendered).map(|(d, r)| psnr(d, &r.rgb)).fold(f64::INFINITY, f64::min);
    println!("mp4: {n_frames} frames, worst PSNR {worst:.1} dB");
    assert!(worst >= 35.0, "worst PSNR {worst:.1} dB < 35");

    // Replay data round trip: frame k re-renders identically.
    let jsonl = dir.join("eval_episodes.jsonl");
    save_episodes(&jsonl, &episodes).unwrap();
    let back = load_episodes(&jsonl).unwrap();
    assert_eq!(back, episodes);
    for k in [0, 1, back[1].n_frames() - 1] {
        assert_eq!(back[1].frame(k).unwrap(), episodes[1].frame(k).unwrap());
    }
    // Bad input: zero episodes, unwritable path; no partial file left.
    assert!(write_episodes_video(&[], &dir.join("none.mp4"), 50.0, &mut |_, _| {}).is_err());
    assert!(!dir.join("none.mp4").exists() && !dir.join("none.mp4.part").exists());
    let bad = std::path::Path::new("/proc/definitely/not/writable.mp4");
    let e = write_episodes_video(&episodes, bad, 50.0, &mut |_, _| {}).unwrap_err();
    assert!(e.contains("/proc/definitely"), "{e}");
    let _ = std::fs::remove_dir_all(&dir);
}
