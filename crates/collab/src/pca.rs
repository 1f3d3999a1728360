//! Principal components of a small matrix (embedding factors), by power iteration on the
//! covariance with deflation — enough for the two or three components chapter 8 plots.

/// The first `k` principal components of the rows of `x` (`n × d`, row-major): the projection
/// of every (centred) row onto each component, `n × k` row-major.
pub fn pca(x: &[f32], n: usize, d: usize, k: usize) -> Vec<f64> {
    let mut mean = vec![0f64; d];
    for r in 0..n {
        for j in 0..d {
            mean[j] += x[r * d + j] as f64 / n as f64;
        }
    }
    let centred: Vec<f64> = (0..n * d).map(|i| x[i] as f64 - mean[i % d]).collect();
    let mut cov = vec![0f64; d * d];
    for r in 0..n {
        let row = &centred[r * d..(r + 1) * d];
        for a in 0..d {
            for b in 0..d {
                cov[a * d + b] += row[a] * row[b] / (n.max(2) - 1) as f64;
            }
        }
    }
    let mut comps: Vec<Vec<f64>> = Vec::new();
    for c in 0..k.min(d) {
        // Deterministic start, different per component.
        let mut v: Vec<f64> = (0..d).map(|j| 1.0 + ((j + c) % 7) as f64 * 0.1).collect();
        for _ in 0..500 {
            let mut w = vec![0f64; d];
            for a in 0..d {
                for b in 0..d {
                    w[a] += cov[a * d + b] * v[b];
                }
            }
            for p in &comps {
                let dot: f64 = w.iter().zip(p).map(|(a, b)| a * b).sum();
                for (wi, pi) in w.iter_mut().zip(p) {
                    *wi -= dot * pi;
                }
            }
            let norm = w.iter().map(|a| a * a).sum::<f64>().sqrt();
            if norm < 1e-12 {
                break;
            }
            v = w.into_iter().map(|a| a / norm).collect();
        }
        comps.push(v);
    }
    let mut out = vec![0f64; n * comps.len()];
    for r in 0..n {
        for (c, p) in comps.iter().enumerate() {
            out[r * comps.len() + c] = centred[r * d..(r + 1) * d].iter().zip(p).map(|(a, b)| a * b).sum();
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_the_direction_of_largest_spread() {
        // Points along (1, 1) with a little noise across it.
        let x: Vec<f32> = (0..50).flat_map(|i| { let t = i as f32 - 25.0; let e = if i % 2 == 0 { 0.1 } else { -0.1 }; [t + e, t - e] }).collect();
        let p = pca(&x, 50, 2, 2);
        let var = |c: usize| (0..50).map(|r| p[r * 2 + c].powi(2)).sum::<f64>();
        assert!(var(0) > 1000.0 * var(1), "{} vs {}", var(0), var(1));
        // The first component of a point is its centred position along (1,1)/sqrt(2): point 0 is
        // at t = -25, and the ts average -0.5, so it sits 24.5·√2 from the centre. The ±0.1 noise
        // alternates with the index and so correlates slightly with t, tilting the axis a little.
        assert!((p[0].abs() - 24.5 * 2f64.sqrt()).abs() < 1e-3, "{}", p[0]);
    }
}
