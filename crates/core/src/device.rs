//! Choosing where tensors live, at run time: `cpu` (burn's flex backend, always compiled) or
//! `wgpu` (a GPU, when the crate is built with the `wgpu` feature).

use std::fmt;
use std::str::FromStr;

use burn::tensor::Device;

use crate::error::{Error, Result};

/// The devices a user can name with `--device`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum DeviceChoice {
    /// The CPU, through burn's pure-Rust `flex` backend (SIMD kernels, one thread per core).
    #[default]
    Cpu,
    /// The default GPU through wgpu (Vulkan, Metal or DX12). Needs the `wgpu` feature.
    Wgpu,
    /// burn's older ndarray CPU backend (deprecated upstream; slower than flex). Needs the
    /// `ndarray` feature; kept to measure the two side by side.
    Ndarray,
}

impl DeviceChoice {
    /// The burn device for this choice, without autodiff.
    ///
    /// Asking for `wgpu` in a build without the `wgpu` feature is an error, not a fallback,
    /// so that a benchmark never silently runs somewhere else.
    ///
    /// ```
    /// use kindling_core::DeviceChoice;
    /// let device = DeviceChoice::Cpu.device().unwrap();
    /// assert!(!device.is_autodiff());
    /// ```
    pub fn device(self) -> Result<Device> {
        match self {
            DeviceChoice::Cpu => Ok(Device::flex()),
            #[cfg(feature = "wgpu")]
            DeviceChoice::Wgpu => Ok(Device::wgpu(burn::tensor::DeviceKind::DefaultDevice)),
            #[cfg(not(feature = "wgpu"))]
            DeviceChoice::Wgpu => Err(Error::DeviceUnavailable(
                "wgpu".into(),
                "rebuild the task's crate with `--features wgpu` to use a GPU (e.g. `cargo run --release -p kindling-vision --features wgpu -- …`)".into(),
            )),
            #[cfg(feature = "ndarray")]
            #[allow(deprecated)]
            DeviceChoice::Ndarray => Ok(Device::ndarray()),
            #[cfg(not(feature = "ndarray"))]
            DeviceChoice::Ndarray => Err(Error::DeviceUnavailable(
                "ndarray".into(),
                "rebuild with `--features kindling-core/ndarray` (flex, the default, is faster)".into(),
            )),
        }
    }

    /// Whether results on this device are bit-for-bit repeatable for a given seed.
    pub fn is_deterministic(self) -> bool {
        matches!(self, DeviceChoice::Cpu)
    }
}

impl fmt::Display for DeviceChoice {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            DeviceChoice::Cpu => "cpu",
            DeviceChoice::Wgpu => "wgpu",
            DeviceChoice::Ndarray => "ndarray",
        })
    }
}

impl FromStr for DeviceChoice {
    type Err = Error;

    fn from_str(s: &str) -> Result<Self> {
        match s.to_ascii_lowercase().as_str() {
            "cpu" | "flex" => Ok(DeviceChoice::Cpu),
            "wgpu" | "gpu" => Ok(DeviceChoice::Wgpu),
            "ndarray" => Ok(DeviceChoice::Ndarray),
            other => Err(Error::invalid("device", format!("'{other}' is not one of: cpu, wgpu, ndarray"))),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_names_and_rejects_unknown() {
        assert_eq!("CPU".parse::<DeviceChoice>().unwrap(), DeviceChoice::Cpu);
        assert_eq!("wgpu".parse::<DeviceChoice>().unwrap(), DeviceChoice::Wgpu);
        let err = "tpu".parse::<DeviceChoice>().unwrap_err().to_string();
        assert!(err.contains("'tpu'"), "{err}");
    }

    #[cfg(not(feature = "wgpu"))]
    #[test]
    fn wgpu_without_the_feature_is_a_clear_error() {
        let err = DeviceChoice::Wgpu.device().unwrap_err().to_string();
        assert!(err.contains("--features wgpu"), "{err}");
    }
}
