use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::RwLock;

use async_trait::async_trait;

use crate::{CoreError, FixPlan, Incident, IncidentId, IncidentReport, PlanId, Result};

/// Persists incidents, their reports and fix plans.
#[async_trait]
pub trait IncidentStore: Send + Sync {
    /// Saves (or replaces) an incident's latest report.
    async fn put_report(&self, report: &IncidentReport) -> Result<()>;
    /// The latest report of an incident.
    async fn report(&self, id: &IncidentId) -> Result<IncidentReport>;
    /// Every stored incident, by id.
    async fn incidents(&self) -> Result<Vec<Incident>>;
    /// Saves (or replaces) a plan.
    async fn put_plan(&self, plan: &FixPlan) -> Result<()>;
    /// A plan by id.
    async fn plan(&self, id: &PlanId) -> Result<FixPlan>;
}

fn poisoned() -> CoreError {
    CoreError::Internal("incident store lock poisoned".into())
}

/// Keeps everything in memory.
#[derive(Debug, Default)]
pub struct InMemoryIncidentStore {
    reports: RwLock<BTreeMap<IncidentId, IncidentReport>>,
    plans: RwLock<BTreeMap<PlanId, FixPlan>>,
}

#[async_trait]
impl IncidentStore for InMemoryIncidentStore {
    async fn put_report(&self, report: &IncidentReport) -> Result<()> {
        self.reports
            .write()
            .map_err(|_| poisoned())?
            .insert(report.incident.id.clone(), report.clone());
        Ok(())
    }
    async fn report(&self, id: &IncidentId) -> Result<IncidentReport> {
        self.reports
            .read()
            .map_err(|_| poisoned())?
            .get(id)
            .cloned()
            .ok_or_else(|| CoreError::NotFound {
                kind: "incident",
                id: id.0.clone(),
            })
    }
    async fn incidents(&self) -> Result<Vec<Incident>> {
        Ok(self
            .reports
            .read()
            .map_err(|_| poisoned())?
            .values()
            .map(|r| r.incident.clone())
            .collect())
    }
    async fn put_plan(&self, plan: &FixPlan) -> Result<()> {
        self.plans
            .write()
            .map_err(|_| poisoned())?
            .insert(plan.id.clone(), plan.clone());
        Ok(())
    }
    async fn plan(&self, id: &PlanId) -> Result<FixPlan> {
        self.plans
            .read()
            .map_err(|_| poisoned())?
            .get(id)
            .cloned()
            .ok_or_else(|| CoreError::NotFound {
                kind: "plan",
                id: id.0.clone(),
            })
    }
}

/// Keeps one JSON file per report (`reports/<id>.json`) and per plan (`plans/<id>.json`)
/// under a directory. Ids are sanitised into file names.
#[derive(Debug, Clone)]
pub struct FileIncidentStore {
    root: PathBuf,
}

impl FileIncidentStore {
    /// A store rooted at `root` (created on first write).
    pub fn new(root: impl Into<PathBuf>) -> Self {
        Self { root: root.into() }
    }
    fn path(&self, dir: &str, id: &str) -> PathBuf {
        let safe: String = id
            .chars()
            .map(|c| {
                if c.is_ascii_alphanumeric() || c == '-' || c == '_' || c == '.' {
                    c
                } else {
                    '_'
                }
            })
            .collect();
        self.root.join(dir).join(format!("{safe}.json"))
    }
    fn write<T: serde::Serialize>(&self, path: &Path, v: &T) -> Result<()> {
        let io = |source| CoreError::Io {
            path: path.to_owned(),
            source,
        };
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent).map_err(io)?;
        }
        let bytes = serde_json::to_vec_pretty(v).map_err(|e| CoreError::Internal(e.to_string()))?;
        let tmp = path.with_extension("json.tmp");
        std::fs::write(&tmp, bytes).map_err(io)?;
        std::fs::rename(&tmp, path).map_err(io)
    }
    fn read<T: serde::de::DeserializeOwned>(&self, path: &Path, kind: &'static str, id: &str) -> Result<T> {
        let bytes = match std::fs::read(path) {
            Ok(b) => b,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                return Err(CoreError::NotFound {
                    kind,
                    id: id.to_owned(),
                })
            }
            Err(source) => {
                return Err(CoreError::Io {
                    path: path.to_owned(),
                    source,
                })
            }
        };
        serde_json::from_slice(&bytes)
            .map_err(|e| CoreError::InvalidInput(format!("{}: {e}", path.display())))
    }
}

#[async_trait]
impl IncidentStore for FileIncidentStore {
    async fn put_report(&self, report: &IncidentReport) -> Result<()> {
        self.write(&self.path("reports", &report.incident.id.0), report)
    }
    async fn report(&self, id: &IncidentId) -> Result<IncidentReport> {
        self.read(&self.path("reports", &id.0), "incident", &id.0)
    }
    async fn incidents(&self) -> Result<Vec<Incident>> {
        let dir = self.root.join("reports");
        let entries = match std::fs::read_dir(&dir) {
            Ok(e) => e,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
            Err(source) => return Err(CoreError::Io { path: dir, source }),
        };
        let mut out = Vec::new();
        for entry in entries {
            let path = entry
                .map_err(|source| CoreError::Io {
                    path: dir.clone(),
                    source,
                })?
                .path();
            if path.extension().is_some_and(|e| e == "json") {
                let r: IncidentReport = self.read(&path, "incident", &path.display().to_string())?;
                out.push(r.incident);
            }
        }
        out.sort_by(|a, b| a.id.cmp(&b.id));
        Ok(out)
    }
    async fn put_plan(&self, plan: &FixPlan) -> Result<()> {
        self.write(&self.path("plans", &plan.id.0), plan)
    }
    async fn plan(&self, id: &PlanId) -> Result<FixPlan> {
        self.read(&self.path("plans", &id.0), "plan", &id.0)
    }
}
