//! Picks the burn device for a run: `cpu` is burn's `flex` backend, `gpu` its
//! wgpu backend, `auto` the GPU when a real one (not a software rasterizer)
//! answers, else the CPU, saying so.

use crate::config::DeviceChoice;
use burn::tensor::{Device, DeviceKind};

#[derive(Clone, Debug)]
pub struct ResolvedDevice {
    /// The plain device; training uses `device.clone().autodiff()`.
    pub device: Device,
    pub is_gpu: bool,
    /// e.g. "cpu (burn flex)" or "gpu: NVIDIA H100 80GB HBM3 (burn wgpu)".
    pub description: String,
    /// Said to the user when `auto` fell back to the CPU.
    pub note: Option<String>,
}

pub fn cpu() -> ResolvedDevice {
    ResolvedDevice { device: Device::flex(), is_gpu: false, description: "cpu (burn flex)".into(), note: None }
}

/// Opens the default wgpu adapter and runs one tiny op, without letting a
/// missing adapter's panic escape. Returns the adapter name on success.
pub fn probe_gpu() -> Result<(Device, String, bool), String> {
    let previous = std::panic::take_hook();
    std::panic::set_hook(Box::new(|_| {}));
    let result = std::panic::catch_unwind(|| {
        let device = Device::wgpu(DeviceKind::DefaultDevice);
        let identity = device.identity();
        let t = burn::tensor::Tensor::<1>::from_floats([1.0, 2.0], &device);
        let sum: f32 = t.sum().into_scalar();
        (device, identity, sum)
    });
    std::panic::set_hook(previous);
    match result {
        Ok((device, identity, sum)) if (sum - 3.0).abs() < 1e-6 => {
            let (name, physical) = match identity {
                Some(id) => (id.name, id.physical.is_some()),
                None => ("unknown adapter".to_string(), false),
            };
            Ok((device, name, physical))
        }
        Ok((_, _, sum)) => Err(format!("the wgpu adapter computed 1+2 = {sum}")),
        Err(panic) => {
            let msg = panic
                .downcast_ref::<String>()
                .cloned()
                .or_else(|| panic.downcast_ref::<&str>().map(|s| s.to_string()))
                .unwrap_or_else(|| "unknown error".into());
            Err(msg)
        }
    }
}

/// An adapter's name as shown to users, marking software rasterizers.
pub fn adapter_label(name: &str, physical: bool) -> String {
    if physical { name.to_string() } else { format!("{name} [software]") }
}

pub fn resolve(choice: DeviceChoice) -> Result<ResolvedDevice, String> {
    match choice {
        DeviceChoice::Cpu => Ok(cpu()),
        DeviceChoice::Gpu => match probe_gpu() {
            Ok((device, name, physical)) => Ok(ResolvedDevice {
                device,
                is_gpu: true,
                description: format!("gpu: {} (burn wgpu)", adapter_label(&name, physical)),
                note: (!physical).then(|| format!("note: the wgpu adapter '{name}' is a software rasterizer, not a GPU; expect CPU-like speed")),
            }),
            Err(e) => Err(format!(
                "experiment.device=gpu: no GPU adapter could be opened through wgpu/Vulkan ({e}); install a GPU driver with Vulkan support, or use experiment.device=cpu (or auto to fall back automatically)"
            )),
        },
        DeviceChoice::Auto => match probe_gpu() {
            Ok((device, name, true)) => Ok(ResolvedDevice {
                device,
                is_gpu: true,
                description: format!("gpu: {name} (burn wgpu)"),
                note: Some(format!("experiment.device=auto: using GPU '{name}'")),
            }),
            Ok((_, name, false)) => Ok(ResolvedDevice {
                note: Some(format!("experiment.device=auto: the only wgpu adapter is '{name}', a software rasterizer; using the CPU")),
                ..cpu()
            }),
            Err(_) => Ok(ResolvedDevice {
                note: Some("experiment.device=auto: no GPU adapter found; using the CPU".into()),
                ..cpu()
            }),
        },
    }
}
