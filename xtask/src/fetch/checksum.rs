//! Checking a downloaded file before anything is unpacked.

use std::io::Read;
use std::path::Path;

use md5::{Digest, Md5};
use sha2::Sha256;

use crate::manifest::Check;

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Verifies `path` against `check`; the error says what differed.
pub fn verify(path: &Path, check: &Check) -> Result<(), String> {
    let size = std::fs::metadata(path).map_err(|e| format!("{}: {e}", path.display()))?.len();
    let (want_size, what) = match check {
        Check::FastaiMd5FirstMib { size, .. } | Check::Md5 { size, .. } | Check::Sha256 { size, .. } => (*size, check),
    };
    if size != want_size {
        return Err(format!("{}: {size} bytes, expected {want_size}", path.display()));
    }
    let mut f = std::fs::File::open(path).map_err(|e| format!("{}: {e}", path.display()))?;
    let (got, want) = match what {
        Check::FastaiMd5FirstMib { md5, .. } => {
            let mut buf = Vec::with_capacity(1 << 20);
            (&mut f).take(1 << 20).read_to_end(&mut buf).map_err(|e| e.to_string())?;
            (hex(&Md5::digest(&buf)), md5)
        }
        Check::Md5 { md5, .. } => (hash_reader::<Md5>(&mut f)?, md5),
        Check::Sha256 { sha256, .. } => (hash_reader::<Sha256>(&mut f)?, sha256),
    };
    if got != want.to_lowercase() {
        return Err(format!("{}: checksum {got}, expected {want}", path.display()));
    }
    Ok(())
}

fn hash_reader<D: Digest>(r: &mut impl Read) -> Result<String, String> {
    let mut h = D::new();
    let mut buf = vec![0u8; 1 << 16];
    loop {
        let n = r.read(&mut buf).map_err(|e| e.to_string())?;
        if n == 0 {
            break;
        }
        h.update(&buf[..n]);
    }
    Ok(hex(&h.finalize()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn all_three_checks() {
        let dir = std::env::temp_dir().join(format!("kindling-ck-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let p = dir.join("f");
        std::fs::write(&p, b"abc").unwrap();
        let md5 = "900150983cd24fb0d6963f7d28e17f72".to_string();
        assert!(verify(&p, &Check::Md5 { size: 3, md5: md5.clone() }).is_ok());
        assert!(verify(&p, &Check::FastaiMd5FirstMib { size: 3, md5 }).is_ok());
        let sha = "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad".to_string();
        assert!(verify(&p, &Check::Sha256 { size: 3, sha256: sha.clone() }).is_ok());
        assert!(verify(&p, &Check::Sha256 { size: 4, sha256: sha }).unwrap_err().contains("3 bytes, expected 4"));
        assert!(verify(&p, &Check::Md5 { size: 3, md5: "0".repeat(32) }).unwrap_err().contains("checksum"));
        std::fs::remove_dir_all(dir).unwrap();
    }
}
