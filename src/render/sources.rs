//! What a run's renders take from outside the repository — a helm binary for `helmCharts` and
//! a cache of remote bases — and the build options that hand them to kustomize.
//!
//! One [`Renderer`] per run: its `Helm` and its `RemoteCache` are shared by every render of the
//! run (both sides of every unit), so a chart is pulled, an unpinned chart version or a branch
//! resolved, and a remote fetched once however many units use them — and base and head see the
//! same answer. Environments whose settings refuse mutable remote refs render through a view of
//! the same cache that refuses branches ([`PinnedRefs`]). After the renders, [`Resolved`] says
//! what was decided at render time rather than by the repository, for the report.
//!
//! It starts no helm and opens no cache of its own: commands build both at the edge (flags,
//! inputs, settings) and hand them in.

use std::collections::BTreeSet;
use std::sync::Arc;

use kustomize::{BuildOptions, FileSystem, Helm, HelmOptions, LoadRestrictor, PulledChart};

use super::Render;
use crate::config::Config;
use crate::git::remote_cache::{PinnedRefs, RemoteCache, RemoteCacheOptions, ResolvedRemote};

/// What a command asks of its run's sources (its flags, the action's inputs).
#[derive(Clone, Debug)]
pub struct SourceSettings {
    pub load_restrictor: LoadRestrictor,
    /// How helm is run; `None` refuses `helmCharts`.
    pub helm: Option<HelmOptions>,
    /// Where and how remote targets are fetched; `None` refuses them.
    pub remotes: Option<RemoteCacheOptions>,
}

/// How a run renders its units.
#[derive(Clone, Debug, Default)]
pub struct Renderer {
    helm: Option<Helm>,
    remotes: Option<Arc<RemoteCache>>,
    /// Mutable remote refs allowed.
    options: BuildOptions,
    /// The same, refusing mutable remote refs, for the overlays that must be pinned.
    pinned: Option<(BuildOptions, BTreeSet<String>)>,
}

impl Renderer {
    /// Renders with `load_restrictor`, inflating charts with `helm` (`None`: `helmCharts` are
    /// refused, as without `--enable-helm`) and loading remote targets through `remotes`
    /// (`None`: refused).
    pub fn new(
        load_restrictor: LoadRestrictor,
        helm: Option<Helm>,
        remotes: Option<Arc<RemoteCache>>,
    ) -> Renderer {
        let options = BuildOptions {
            load_restrictor,
            helm: helm.clone(),
            remote: remotes.clone().map(|cache| cache as Arc<dyn kustomize::RemoteLoader>),
        };
        Renderer { helm, remotes, options, pinned: None }
    }

    /// The renderer of one run: one helm and one remote cache made from `settings`, held to the
    /// repository's settings when there are some (`helm.repositories` limits where charts are
    /// pulled from; `remotes.mutable-refs` pins environments).
    pub fn for_run(settings: SourceSettings, config: Option<&Config>) -> Renderer {
        let helm = settings.helm.map(|mut options| {
            if let Some(hosts) = config.and_then(|c| c.helm.repositories.clone()) {
                options.allowed_repo_hosts = Some(hosts);
            }
            Helm::new(options)
        });
        let remotes = settings.remotes.map(|options| Arc::new(RemoteCache::new(options)));
        let renderer = Renderer::new(settings.load_restrictor, helm, remotes);
        match config {
            Some(config) => renderer.pin_remote_refs_in(config.overlays_refusing_mutable_refs()),
            None => renderer,
        }
    }

    /// Units of these overlay folders (environments) refuse branch refs and remotes without a
    /// ref. A unit whose overlay its path does not tell (a unit glob outside `overlays/`) is
    /// held to the stricter rule whenever any overlay is.
    pub fn pin_remote_refs_in(mut self, overlays: BTreeSet<String>) -> Renderer {
        self.pinned = match (&self.remotes, overlays.is_empty()) {
            (Some(cache), false) => {
                let view = Arc::new(PinnedRefs(cache.clone())) as Arc<dyn kustomize::RemoteLoader>;
                Some((BuildOptions { remote: Some(view), ..self.options.clone() }, overlays))
            }
            _ => None,
        };
        self
    }

    /// The build options for the unit at `unit`.
    pub fn options_for(&self, unit: &str) -> &BuildOptions {
        match &self.pinned {
            Some((pinned, overlays))
                if crate::detect::units::environment_of(unit)
                    .is_none_or(|overlay| overlays.contains(&overlay)) =>
            {
                pinned
            }
            _ => &self.options,
        }
    }

    /// Renders the kustomization in `dir` of `fs`.
    pub fn render(&self, fs: &dyn FileSystem, dir: &str) -> Render {
        super::render_unit(fs, dir, self.options_for(dir))
    }

    pub fn load_restrictor(&self) -> LoadRestrictor {
        self.options.load_restrictor
    }

    /// What the renders so far resolved at render time.
    pub fn resolved(&self) -> Resolved {
        Resolved {
            charts: self
                .helm
                .iter()
                .flat_map(Helm::pulled_charts)
                .filter(|chart| chart.requested_version.is_empty())
                .collect(),
            remotes: self
                .remotes
                .iter()
                .flat_map(|cache| cache.resolved())
                .filter(|remote| remote.kind.is_mutable())
                .collect(),
        }
    }
}

/// What renders decided when they ran rather than took from the repository: the versions that
/// charts of no pinned `version` resolved to, and the commits branch refs (or remotes without a
/// ref) resolved to. A reader needs them to know what was rendered, and to pin them.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Resolved {
    /// Sorted by repository and name.
    pub charts: Vec<PulledChart>,
    /// Sorted by URL and ref.
    pub remotes: Vec<ResolvedRemote>,
}

impl Resolved {
    pub fn is_empty(&self) -> bool {
        self.charts.is_empty() && self.remotes.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pinned_overlays_get_the_refusing_view_and_others_the_cache() {
        let dir = tempfile::tempdir().unwrap();
        let cache = Arc::new(RemoteCache::new(RemoteCacheOptions::new(dir.path())));
        let renderer = Renderer::new(LoadRestrictor::RootOnly, None, Some(cache))
            .pin_remote_refs_in(BTreeSet::from(["production".to_owned()]));
        let debug = |unit: &str| format!("{:?}", renderer.options_for(unit).remote);
        assert!(debug("apps/overlays/production/web").contains("PinnedRefs"));
        assert!(!debug("apps/overlays/testing/web").contains("PinnedRefs"));
        // Its overlay unknown: the stricter rule.
        assert!(debug("clusters/home").contains("PinnedRefs"));
        let open = Renderer::new(LoadRestrictor::RootOnly, None, None)
            .pin_remote_refs_in(BTreeSet::from(["production".to_owned()]));
        assert!(open.options_for("apps/overlays/production/web").remote.is_none());
        assert!(open.resolved().is_empty());
    }
}
