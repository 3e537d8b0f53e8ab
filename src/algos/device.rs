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
    /// The GPU adapter and its driver, for run_info.json; `None` on the CPU.
    pub adapter: Option<AdapterDetails>,
}

/// What the GPU a run used says of itself (wgpu's adapter info).
#[derive(Clone, Debug, PartialEq)]
pub struct AdapterDetails {
    pub name: String,
    /// e.g. "Vulkan".
    pub backend: String,
    /// e.g. "NVIDIA 580.95.05" (driver name and version, as the driver reports them).
    pub driver: String,
}

impl ResolvedDevice {
    /// Bytes the device's allocator holds, in use and reserved: `None` where
    /// the backend does not report them (burn flex, the CPU).
    pub fn memory_bytes(&self) -> Option<(u64, u64)> {
        if !self.is_gpu {
            return None;
        }
        self.device.memory_pool_usage().map(|u| (u.bytes_in_use, u.bytes_reserved))
    }
}

pub fn cpu() -> ResolvedDevice {
    ResolvedDevice { device: Device::flex(), is_gpu: false, description: "cpu (burn flex)".into(), note: None, adapter: None }
}

/// The adapters wgpu lists, asked once per process through a wgpu instance of our own
/// that is never dropped (the Vulkan loader does not like instances coming and going).
/// Listing creates no device, so no compute threads.
fn adapters() -> &'static [wgpu::AdapterInfo] {
    static ADAPTERS: std::sync::OnceLock<Vec<wgpu::AdapterInfo>> = std::sync::OnceLock::new();
    ADAPTERS.get_or_init(|| {
        let instance = wgpu::Instance::new(wgpu::InstanceDescriptor {
            backends: wgpu::Backends::PRIMARY,
            ..wgpu::InstanceDescriptor::new_without_display_handle()
        });
        let infos = block_on(instance.enumerate_adapters(wgpu::Backends::PRIMARY)).iter().map(wgpu::Adapter::get_info).collect();
        std::mem::forget(instance);
        infos
    })
}

/// The adapter `experiment.device=gpu` would open, named without opening it: the app shows
/// it while nothing trains, and a burn device there would keep cubecl's server threads
/// polling for the app's whole life. The preference order is cubecl's default (high
/// performance: a discrete GPU first, a CPU rasterizer last); training still opens and
/// checks the real device. Returns (name, whether it is a physical GPU).
pub fn default_adapter() -> Result<(String, bool), String> {
    use wgpu::DeviceType as T;
    let rank = |t: T| match t {
        T::DiscreteGpu => 0,
        T::IntegratedGpu => 1,
        T::VirtualGpu => 2,
        T::Other => 3,
        T::Cpu => 4,
    };
    let best = adapters().iter().min_by_key(|i| rank(i.device_type));
    best.map(|i| (i.name.clone(), i.device_type != T::Cpu))
        .ok_or_else(|| "no wgpu adapter (Vulkan, Metal or DirectX 12) found; install a GPU driver with Vulkan support".to_string())
}

/// The driver of the adapter named `name`; `None` if no adapter has that name.
fn adapter_details(name: &str) -> Option<AdapterDetails> {
    let info = adapters().iter().find(|i| i.name == name)?;
    let driver = [info.driver.as_str(), info.driver_info.as_str()].iter().filter(|s| !s.is_empty()).copied().collect::<Vec<_>>().join(" ");
    Some(AdapterDetails { name: info.name.clone(), backend: format!("{:?}", info.backend), driver })
}

/// Polls a future that native wgpu completes at once (no executor needed).
fn block_on<F: std::future::Future>(future: F) -> F::Output {
    let mut future = std::pin::pin!(future);
    let mut cx = std::task::Context::from_waker(std::task::Waker::noop());
    loop {
        if let std::task::Poll::Ready(v) = future.as_mut().poll(&mut cx) {
            return v;
        }
        std::thread::yield_now();
    }
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
                note: (!physical)
                    .then(|| format!("note: the wgpu adapter '{name}' is a software rasterizer, not a GPU; expect CPU-like speed")),
                adapter: adapter_details(&name),
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
                adapter: adapter_details(&name),
            }),
            Ok((_, name, false)) => Ok(ResolvedDevice {
                note: Some(format!("experiment.device=auto: the only wgpu adapter is '{name}', a software rasterizer; using the CPU")),
                ..cpu()
            }),
            Err(_) => Ok(ResolvedDevice { note: Some("experiment.device=auto: no GPU adapter found; using the CPU".into()), ..cpu() }),
        },
    }
}

/// Whether runs with `choice` train on a GPU (`auto` is probed, as a run would,
/// once per process: opening an adapter is slow and its answer does not change):
/// where batching several agents pays (`experiment.batch_seeds`, `sweep.batch_trials`).
pub fn trains_on_gpu(choice: DeviceChoice) -> bool {
    static AUTO_ON_GPU: std::sync::OnceLock<bool> = std::sync::OnceLock::new();
    match choice {
        DeviceChoice::Cpu => false,
        DeviceChoice::Gpu => true,
        DeviceChoice::Auto => *AUTO_ON_GPU.get_or_init(|| resolve(DeviceChoice::Auto).is_ok_and(|d| d.is_gpu)),
    }
}

/// Stops the GPU `device`'s service thread that burn starts per device (cubecl's `DSU-*`,
/// which polls for the life of the process), waiting until it ends; the next use of the
/// device starts it again. Call it only when nothing holds tensors or modules on the device.
/// The runtime's own server thread (`DSD-*`) stays: something in burn keeps a handle to
/// it, so a shutdown would wait out cubecl's 30 s timeout and leak the thread.
pub fn release(device: &Device) {
    if let burn_dispatch::DispatchDevice::Cube(cube) = device.as_dispatch() {
        cubecl_common::device_handle::DeviceHandle::<()>::shutdown(cube.to_id());
    }
}
