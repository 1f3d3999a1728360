//! Saving and restoring optimizer state as safetensors bytes (checkpoints).

use std::collections::HashMap;

use burn::tensor::{Device, Tensor, TensorData};
use safetensors::tensor::{Dtype, TensorView};

use super::optimizer::{Optimizer, ParamState};
use crate::error::{Error, Result};

impl Optimizer {
    /// The state as safetensors bytes: for each parameter path, its moving averages as f32
    /// tensors, and the step counts in the metadata. Restoring them gives bit-identical steps.
    pub fn state_bytes(&self) -> Result<Vec<u8>> {
        let mut owned: Vec<(String, Vec<u8>, usize)> = Vec::new();
        let mut steps: HashMap<String, u64> = HashMap::new();
        for (path, s) in &self.state {
            steps.insert(path.clone(), s.step);
            for (suffix, t) in [("avg", &s.avg), ("sqr_avg", &s.sqr_avg)] {
                if let Some(t) = t {
                    let v = t.to_data().try_to_vec::<f32>().map_err(|e| Error::Data(format!("optimizer state of {path}: {e:?}")))?;
                    let bytes: Vec<u8> = v.iter().flat_map(|x| x.to_le_bytes()).collect();
                    owned.push((format!("{path}/{suffix}"), bytes, v.len()));
                }
            }
        }
        owned.sort_by(|a, b| a.0.cmp(&b.0));
        let views: Vec<(String, TensorView<'_>)> = owned
            .iter()
            .map(|(name, bytes, n)| (name.clone(), TensorView::new(Dtype::F32, vec![*n], bytes).expect("sizes match")))
            .collect();
        let meta = HashMap::from([("steps".to_string(), serde_json::to_string(&steps).expect("plain map"))]);
        safetensors::serialize(views, Some(meta)).map_err(|e| Error::Data(format!("cannot serialise optimizer state: {e}")))
    }

    /// Replaces the state with one saved by [`Optimizer::state_bytes`], on `device`.
    pub fn load_state_bytes(&mut self, bytes: &[u8], device: &Device) -> Result<()> {
        let bad = |r: String| Error::Data(format!("optimizer state: {r}"));
        let (_, meta) = safetensors::SafeTensors::read_metadata(bytes).map_err(|e| bad(e.to_string()))?;
        let steps: HashMap<String, u64> = meta
            .metadata()
            .as_ref()
            .and_then(|m| m.get("steps"))
            .map(|s| serde_json::from_str(s))
            .transpose()
            .map_err(|e| bad(e.to_string()))?
            .unwrap_or_default();
        let st = safetensors::SafeTensors::deserialize(bytes).map_err(|e| bad(e.to_string()))?;
        let mut state: HashMap<String, ParamState> =
            steps.into_iter().map(|(p, step)| (p, ParamState { avg: None, sqr_avg: None, step })).collect();
        for (name, view) in st.tensors() {
            let (path, suffix) = name.rsplit_once('/').ok_or_else(|| bad(format!("unexpected entry {name}")))?;
            if view.dtype() != Dtype::F32 {
                return Err(bad(format!("{name} is not f32")));
            }
            let v: Vec<f32> = view.data().chunks_exact(4).map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]])).collect();
            let n = v.len();
            let t = Tensor::<1>::from_data(TensorData::new(v, [n]), device);
            let entry = state.get_mut(path).ok_or_else(|| bad(format!("{name} has no step count")))?;
            match suffix {
                "avg" => entry.avg = Some(t),
                "sqr_avg" => entry.sqr_avg = Some(t),
                other => return Err(bad(format!("unexpected entry kind {other}"))),
            }
        }
        self.state = state;
        self.to_device(device);
        Ok(())
    }
}
