//! The persistent response cache: one small file per request, written to a temporary
//! file and renamed into place, so a crash leaves either the whole entry or none.
//! Each file repeats its key and a SHA-256 of its payload; a file that fails either
//! check is ignored (a miss) and overwritten by the next answer.

use serde_json::{json, Value};
use sha2::{Digest, Sha256};
use std::io::Write;
use std::path::{Path, PathBuf};

/// The cache's on-disk layout version (a directory level, so a new layout never reads an old one).
const LAYOUT: &str = "v1";

/// The default directory, relative to the working directory DuckDB runs in.
pub const DEFAULT_CACHE_DIR: &str = ".cache/prefroute/llm";

/// Hex SHA-256 of `bytes`.
pub fn sha256_hex(bytes: &[u8]) -> String {
    let digest = Sha256::digest(bytes);
    digest.iter().map(|b| format!("{b:02x}")).collect()
}

/// The cache key of a request: a hash of the model, the template version, the full
/// messages and the decoding parameters -- never the URL, never the key.
pub fn request_key(model: &str, template_version: &str, messages: &Value, decoding: &Value) -> String {
    let canonical = canonical(&json!({
        "model": model,
        "template": template_version,
        "messages": messages,
        "decoding": decoding,
    }))
    .to_string();
    sha256_hex(canonical.as_bytes())
}

/// `v` with every object's keys in sorted order, whichever map serde_json was built with.
fn canonical(v: &Value) -> Value {
    match v {
        Value::Object(m) => {
            let mut keys: Vec<&String> = m.keys().collect();
            keys.sort();
            Value::Object(keys.into_iter().map(|k| (k.clone(), canonical(&m[k]))).collect())
        }
        Value::Array(a) => Value::Array(a.iter().map(canonical).collect()),
        other => other.clone(),
    }
}

/// A directory of cached replies.
#[derive(Clone, Debug)]
pub struct Cache {
    root: PathBuf,
}

impl Cache {
    /// Opens (creating) the cache under `dir`; an error says why it cannot be written.
    pub fn open(dir: &Path) -> Result<Cache, String> {
        let root = dir.join(LAYOUT);
        std::fs::create_dir_all(&root)
            .map_err(|e| format!("cannot create the cache directory '{}': {e}", root.display()))?;
        Ok(Cache { root })
    }

    fn path(&self, key: &str) -> PathBuf {
        self.root.join(&key[..2.min(key.len())]).join(format!("{key}.json"))
    }

    /// The stored payload of `key`, if a whole and intact entry exists.
    pub fn get(&self, key: &str) -> Option<Value> {
        let text = std::fs::read_to_string(self.path(key)).ok()?;
        let file: Value = serde_json::from_str(&text).ok()?;
        let payload = file.get("payload")?;
        let intact = file.get("key")?.as_str()? == key
            && file.get("sha256")?.as_str()? == sha256_hex(payload.to_string().as_bytes());
        intact.then(|| payload.clone())
    }

    /// Stores `payload` under `key` (temp file + rename: atomic on POSIX file systems).
    pub fn put(&self, key: &str, payload: &Value) -> Result<(), String> {
        let path = self.path(key);
        let dir = path.parent().unwrap_or(&self.root);
        std::fs::create_dir_all(dir).map_err(|e| format!("cannot create '{}': {e}", dir.display()))?;
        let body = json!({
            "key": key,
            "sha256": sha256_hex(payload.to_string().as_bytes()),
            "payload": payload,
        })
        .to_string();
        let tmp = dir.join(format!(".{key}.{}.{:x}.tmp", std::process::id(), rand::random::<u64>()));
        let written = (|| {
            let mut f = std::fs::File::create(&tmp)?;
            f.write_all(body.as_bytes())?;
            f.sync_all()?;
            std::fs::rename(&tmp, &path)
        })();
        written.map_err(|e| {
            let _ = std::fs::remove_file(&tmp);
            format!("cannot write the cache entry '{}': {e}", path.display())
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn temp_dir(name: &str) -> PathBuf {
        let d = std::env::temp_dir().join(format!("prefroute-cache-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&d);
        d
    }

    #[test]
    fn a_stored_reply_comes_back_and_a_torn_one_is_a_miss() {
        let dir = temp_dir("torn");
        let cache = Cache::open(&dir).unwrap();
        let key =
            request_key("m", "t1", &json!([{"role": "user", "content": "x"}]), &json!({"temperature": 0}));
        assert!(cache.get(&key).is_none());
        cache.put(&key, &json!({"content": "{\"answer\": \"A\"}"})).unwrap();
        assert_eq!(cache.get(&key).unwrap()["content"], "{\"answer\": \"A\"}");
        // A torn file (cut in the middle) or one whose payload changed is ignored.
        let path = cache.path(&key);
        let text = std::fs::read_to_string(&path).unwrap();
        std::fs::write(&path, &text[..text.len() / 2]).unwrap();
        assert!(cache.get(&key).is_none());
        std::fs::write(&path, text.replace("answer", "ANSWER")).unwrap();
        assert!(cache.get(&key).is_none());
        cache.put(&key, &json!({"content": "B"})).unwrap();
        assert_eq!(cache.get(&key).unwrap()["content"], "B");
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn keys_depend_on_model_template_messages_and_decoding_only() {
        let m = json!([{"role": "user", "content": "x"}]);
        let d = json!({"temperature": 0, "seed": 1});
        let k = request_key("m", "t1", &m, &d);
        assert_eq!(k.len(), 64);
        assert_ne!(k, request_key("m2", "t1", &m, &d));
        assert_ne!(k, request_key("m", "t2", &m, &d));
        assert_ne!(k, request_key("m", "t1", &json!([{"role": "user", "content": "y"}]), &d));
        assert_ne!(k, request_key("m", "t1", &m, &json!({"temperature": 0, "seed": 2})));
        // Key order in the decoding object does not matter.
        assert_eq!(k, request_key("m", "t1", &m, &json!({"seed": 1, "temperature": 0})));
    }
}
