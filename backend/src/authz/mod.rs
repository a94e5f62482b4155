//! Forward-auth: reverse proxies (nginx `auth_request`, Caddy `forward_auth`, Traefik
//! `ForwardAuth`) ask, for every request to an app behind them, whether its sender may pass.
//! `rules` is what decides; the rules in force can be swapped while serving (SIGHUP).

pub mod rules;

use std::{
    path::PathBuf,
    sync::{Arc, RwLock},
};

pub use rules::{normalize_host, normalize_path, Policy, Rule, Rules, RulesError};

/// The rules in force, shared by every request and replaced whole on a reload.
#[derive(Clone, Default)]
pub struct RuleSet {
    current: Arc<RwLock<Arc<Rules>>>,
    file: Option<PathBuf>,
}

impl RuleSet {
    /// The rules in `file` (checked now: a bad file stops the start), or without a file
    /// every signed-in user may pass.
    pub fn load(file: Option<PathBuf>) -> Result<Self, RulesError> {
        let rules = match &file {
            Some(path) => Rules::load(path)?,
            None => Rules::default(),
        };
        Ok(Self {
            current: Arc::new(RwLock::new(Arc::new(rules))),
            file,
        })
    }

    /// The rules in force.
    pub fn current(&self) -> Arc<Rules> {
        self.current
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }

    /// Reads the file again; a bad file keeps the rules in force (the error says why).
    /// Whether there was a file to read.
    pub fn reload(&self) -> Result<bool, RulesError> {
        let Some(path) = &self.file else {
            return Ok(false);
        };
        let rules = Rules::load(path)?;
        *self.current.write().unwrap_or_else(|p| p.into_inner()) = Arc::new(rules);
        Ok(true)
    }
}
