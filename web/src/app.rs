//! The wizard's one component: the form, live findings attached to their fields, the
//! what-if table, a file tree with previews, import/export and Generate.

use crate::browser;
use crate::state::{self, Form, NodeRow, Yaml};
use hagen_core::Checked;
use hagen_core::bundle::Bundle;
use hagen_core::defaults;
use hagen_core::diag::{Diagnostic, Severity};
use hagen_core::diagram::Selection;
use hagen_core::source::{LineIndex, SourceFile};
use hagen_core::topology::{EtcdType, LbType};
use std::collections::BTreeMap;
use wasm_bindgen::JsCast;
use web_sys::{HtmlInputElement, HtmlSelectElement, HtmlTextAreaElement};
use yew::prelude::*;

/// A text field of the form.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Field {
    Name,
    Version,
    Vip,
    Dns,
    Port,
    BindPort,
    CertSans,
    Interface,
    Vrid,
    AuthPass,
    PodSubnet,
    ServiceSubnet,
    DnsDomain,
    CertDays,
    CaDays,
}

/// A field of one node row.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum NodeField {
    Name,
    Address,
    Zone,
    Interface,
}

/// A role checkbox of one node row.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum RoleBox {
    ControlPlane,
    Worker,
    Etcd,
}

pub enum Msg {
    Set(Field, String),
    Lb(String),
    Etcd(String),
    Key(String),
    SetNode(usize, NodeField, String),
    Role(usize, RoleBox, bool),
    AddNode,
    RemoveNode(usize),
    DuplicateNode(usize),
    Select(String),
    Explain(&'static str),
    ImportText(String),
    Import,
    ImportFile(web_sys::File),
    Imported(Result<String, String>),
    Export,
    Generate,
    /// `(done, total)` from the key workers.
    KeyProgress(u32, u32),
    /// The key workers' RSA keys (PKCS#8 DER, in seed order), or why there are none.
    RsaKeys(Result<Vec<Vec<u8>>, String>),
    /// Stop making RSA keys (the keys already being searched for finish first).
    CancelKeys,
    /// Show (or, picked again, stop showing) a loss of the what-if table in the diagram;
    /// the id of the button that asked, to keep the focus on it.
    Lose(Selection, Option<String>),
}

/// A generation waiting for its RSA keys: what was valid when Generate was pressed, so
/// edits made meanwhile do not change the bundle being made.
struct Pending {
    plan: hagen_core::plan::Plan,
    yaml: String,
    what_if: Vec<hagen_core::whatif::Scenario>,
    done: u32,
    total: u32,
    started_ms: f64,
}

impl Pending {
    /// `; about N s left`, from the pace so far (once there is one).
    fn time_left(&self) -> String {
        if self.done == 0 || self.done >= self.total {
            return String::new();
        }
        let per_key = (browser::now_ms() - self.started_ms) / f64::from(self.done);
        let left = per_key * f64::from(self.total - self.done) / 1000.0;
        format!("; about {left:.0} s left")
    }
}

pub struct App {
    form: Form,
    yaml: Yaml,
    checked: Checked,
    preview: Option<Bundle>,
    selected: Option<String>,
    explain: Option<&'static str>,
    import_text: String,
    status: String,
    /// Milliseconds the last edit took, from input to updated findings, diagram and
    /// previews (for the browser test, not shown).
    last_update_ms: f64,
    /// The loss shown in the diagram and selected in the what-if table.
    lost: Option<Selection>,
    /// The diagram of the plan as it stands (with the loss shown), when there is a plan.
    diagram: Option<String>,
    /// The diagram button to focus once drawn again (its node was replaced).
    refocus: Option<String>,
    join: hagen_core::pki::JoinMaterial,
    /// Set while the key workers make RSA keys.
    pending: Option<Pending>,
}

fn input_value(e: &InputEvent) -> String {
    e.target()
        .and_then(|t| t.dyn_into::<HtmlInputElement>().ok())
        .map(|i| i.value())
        .unwrap_or_default()
}

fn select_value(e: &Event) -> String {
    e.target()
        .and_then(|t| t.dyn_into::<HtmlSelectElement>().ok())
        .map(|s| s.value())
        .unwrap_or_default()
}

fn checked_value(e: &Event) -> bool {
    e.target()
        .and_then(|t| t.dyn_into::<HtmlInputElement>().ok())
        .is_some_and(|i| i.checked())
}

impl App {
    fn recompute(&mut self) {
        let start = browser::now_ms();
        self.yaml = self.form.to_yaml();
        self.checked = hagen_core::check(&SourceFile::new("topology.yaml", self.yaml.text.clone()));
        self.preview = self.checked.plan.as_ref().and_then(|plan| {
            let what_if = self.checked.what_if.clone().unwrap_or_default();
            hagen_core::render::render(&hagen_core::render::Input {
                plan,
                join: &self.join,
                what_if: &what_if,
            })
            .ok()
        });
        if let (Some(sel), Some(b)) = (&self.selected, &self.preview)
            && b.get(sel).is_none()
        {
            self.selected = None;
        }
        self.draw();
        self.last_update_ms = browser::now_ms() - start;
    }

    /// Draws the diagram again; a loss no longer in the table is dropped.
    fn draw(&mut self) {
        let rows = self.checked.what_if.as_deref().unwrap_or_default();
        if self
            .lost
            .as_ref()
            .is_some_and(|l| !rows.iter().any(|r| l.is(r)))
        {
            self.lost = None;
        }
        self.diagram = self
            .checked
            .plan
            .as_ref()
            .map(|plan| hagen_core::diagram::svg(plan, rows, self.lost.as_ref()));
    }

    /// Findings per field path; a finding without a path lands on the path of its line.
    fn by_path(&self) -> BTreeMap<String, Vec<&Diagnostic>> {
        let index = LineIndex::new(&self.yaml.text);
        let mut map: BTreeMap<String, Vec<&Diagnostic>> = BTreeMap::new();
        for d in &self.checked.diagnostics {
            let path = d
                .path
                .clone()
                .filter(|p| !p.is_empty())
                .or_else(|| {
                    d.span
                        .and_then(|s| self.yaml.path_of_line(index.line_col(s.start).line))
                        .map(String::from)
                })
                .unwrap_or_default();
            map.entry(path).or_default().push(d);
        }
        map
    }
}

impl Component for App {
    type Message = Msg;
    type Properties = ();

    fn create(_ctx: &Context<Self>) -> Self {
        let mut entropy = browser::BrowserEntropy;
        let join = hagen_core::pki::JoinMaterial {
            token: hagen_core::pki::bootstrap_token(&mut entropy),
            certificate_key: hagen_core::pki::certificate_key(&mut entropy),
            ca_cert_hash: "sha256:(the CA's hash; computed when the keys are generated)".into(),
        };
        let form = Form::default();
        let yaml = form.to_yaml();
        let mut app = App {
            checked: hagen_core::check(&SourceFile::new("topology.yaml", yaml.text.clone())),
            form,
            yaml,
            preview: None,
            selected: Some("README.md".into()),
            explain: None,
            import_text: String::new(),
            status: String::new(),
            last_update_ms: 0.0,
            lost: None,
            diagram: None,
            refocus: None,
            join,
            pending: None,
        };
        app.recompute();
        app
    }

    fn update(&mut self, ctx: &Context<Self>, msg: Msg) -> bool {
        let f = &mut self.form;
        match msg {
            Msg::Set(field, v) => {
                let slot = match field {
                    Field::Name => &mut f.name,
                    Field::Version => &mut f.version,
                    Field::Vip => &mut f.vip,
                    Field::Dns => &mut f.dns,
                    Field::Port => &mut f.port,
                    Field::BindPort => &mut f.bind_port,
                    Field::CertSans => &mut f.cert_sans,
                    Field::Interface => &mut f.interface,
                    Field::Vrid => &mut f.vrid,
                    Field::AuthPass => &mut f.auth_pass,
                    Field::PodSubnet => &mut f.pod_subnet,
                    Field::ServiceSubnet => &mut f.service_subnet,
                    Field::DnsDomain => &mut f.dns_domain,
                    Field::CertDays => &mut f.cert_days,
                    Field::CaDays => &mut f.ca_days,
                };
                *slot = v;
            }
            Msg::Lb(v) => {
                if let Some(lb) = state::LB_TYPES.iter().find(|t| state::lb_name(**t) == v) {
                    f.lb = *lb;
                }
            }
            Msg::Etcd(v) => {
                f.etcd = if v == "external" {
                    EtcdType::External
                } else {
                    EtcdType::Stacked
                }
            }
            Msg::Key(v) => {
                if let Some(k) = state::KEY_ALGORITHMS
                    .iter()
                    .find(|k| state::key_name(**k) == v)
                {
                    f.key_algorithm = *k;
                }
            }
            Msg::SetNode(i, field, v) => {
                if let Some(n) = f.nodes.get_mut(i) {
                    match field {
                        NodeField::Name => n.name = v,
                        NodeField::Address => n.address = v,
                        NodeField::Zone => n.zone = v,
                        NodeField::Interface => n.interface = v,
                    }
                }
            }
            Msg::Role(i, role, on) => {
                if let Some(n) = f.nodes.get_mut(i) {
                    match role {
                        RoleBox::ControlPlane => n.control_plane = on,
                        RoleBox::Worker => n.worker = on,
                        RoleBox::Etcd => n.etcd = on,
                    }
                }
            }
            Msg::AddNode => {
                let next = f.nodes.len() + 1;
                f.nodes.push(NodeRow {
                    name: format!("node-{next}"),
                    worker: true,
                    ..NodeRow::default()
                });
            }
            Msg::RemoveNode(i) => {
                if i < f.nodes.len() {
                    f.nodes.remove(i);
                }
            }
            Msg::DuplicateNode(i) => {
                if let Some(n) = f.nodes.get(i).cloned() {
                    f.nodes.insert(
                        i + 1,
                        NodeRow {
                            name: format!("{}-copy", n.name),
                            ..n
                        },
                    );
                }
            }
            Msg::Select(path) => {
                self.selected = Some(path);
                return true;
            }
            Msg::Explain(code) => {
                self.explain = if self.explain == Some(code) {
                    None
                } else {
                    Some(code)
                };
                return true;
            }
            Msg::ImportText(t) => {
                self.import_text = t;
                return false;
            }
            Msg::Import => {
                let text = self.import_text.clone();
                return self.import(&text);
            }
            Msg::ImportFile(file) => {
                let link = ctx.link().clone();
                wasm_bindgen_futures::spawn_local(async move {
                    let text = wasm_bindgen_futures::JsFuture::from(file.text()).await;
                    link.send_message(Msg::Imported(
                        text.ok()
                            .and_then(|v| v.as_string())
                            .ok_or_else(|| "cannot read the file".to_string()),
                    ));
                });
                return false;
            }
            Msg::Imported(result) => {
                return match result {
                    Ok(text) => self.import(&text),
                    Err(e) => {
                        self.status = e;
                        true
                    }
                };
            }
            Msg::Export => {
                self.status = match browser::download(
                    "topology.yaml",
                    self.yaml.text.as_bytes(),
                    "application/yaml",
                ) {
                    Ok(()) => "topology.yaml saved.".into(),
                    Err(e) => format!("Export failed: {e}"),
                };
                return true;
            }
            Msg::Generate => {
                self.status = self.generate(ctx);
                return true;
            }
            Msg::KeyProgress(done, total) => {
                if let Some(p) = &mut self.pending {
                    (p.done, p.total) = (done, total);
                }
                return true;
            }
            Msg::RsaKeys(result) => {
                let Some(p) = self.pending.take() else {
                    return false;
                };
                self.status = match result {
                    Ok(keys) => {
                        self.finish(&p.plan, &p.yaml, &p.what_if, Some(&keys), p.started_ms)
                    }
                    Err(e) if e == browser::CANCELLED => {
                        "Cancelled: no keys were kept and nothing was saved.".into()
                    }
                    Err(e) => format!("Key generation failed: {e}"),
                };
                return true;
            }
            Msg::CancelKeys => {
                if self.pending.is_some() {
                    browser::cancel_rsa_keys();
                    self.status = "Cancelling: the workers finish the keys they are on.".into();
                }
                return true;
            }
            Msg::Lose(pick, from) => {
                self.lost = if self.lost.as_ref() == Some(&pick) {
                    None
                } else {
                    Some(pick)
                };
                self.refocus = from;
                self.draw();
                return true;
            }
        }
        self.recompute();
        true
    }

    fn rendered(&mut self, _ctx: &Context<Self>, _first_render: bool) {
        // A new loss replaced the diagram's nodes: give the focus back to the button
        // that was pressed, so Tab and Enter go on from there.
        if let Some(id) = self.refocus.take() {
            browser::focus(&id);
        }
    }

    fn view(&self, ctx: &Context<Self>) -> Html {
        let link = ctx.link();
        let by_path = self.by_path();
        let f = &self.form;
        let errors = self.checked.diagnostics.count(Severity::Error);
        let warnings = self.checked.diagnostics.count(Severity::Warning);
        let text = |field: Field,
                    path: &'static str,
                    label: &'static str,
                    value: &str,
                    hint: &'static str| {
            // No hint of its own: the key's default, from the one table of defaults.
            let hint = if hint.is_empty() {
                defaults::text(path)
            } else {
                hint.to_string()
            };
            let oninput = link.callback(move |e: InputEvent| Msg::Set(field, input_value(&e)));
            self.field(&by_path, path, label, html! {
                <input id={path} type="text" value={value.to_string()} {oninput} placeholder={hint}
                    aria-invalid={by_path.contains_key(path).to_string()}
                    aria-describedby={format!("{path}-msg")} />
            })
        };
        html! {
        <>
          <header>
            <h1>{"hagen"}</h1>
            <p>{"A highly available Kubernetes control plane from one topology: checked as you type, generated in this page. Nothing leaves your browser."}</p>
          </header>
          <main>
            <form class="topology" onsubmit={Callback::from(|e: SubmitEvent| e.prevent_default())} aria-label="Topology">
              <fieldset>
                <legend>{"Cluster"}</legend>
                { text(Field::Name, "metadata.name", "Cluster name", &f.name, "prod-east") }
                { text(Field::Version, "spec.kubernetesVersion", "Kubernetes version", &f.version, "v1.31.2") }
              </fieldset>
              <fieldset>
                <legend>{"Endpoint"}</legend>
                { text(Field::Vip, "spec.controlPlaneEndpoint.vip", "Virtual IP (with prefix)", &f.vip, "192.168.2.250/24") }
                { text(Field::Dns, "spec.controlPlaneEndpoint.dns", "DNS name", &f.dns, "api.k8s.local") }
                { text(Field::Port, "spec.controlPlaneEndpoint.port", "Port clients dial", &f.port, "6443") }
                { text(Field::BindPort, "spec.apiServer.bindPort", "API server port", &f.bind_port, "") }
                { text(Field::CertSans, "spec.apiServer.certSANs", "Extra certificate names (comma-separated)", &f.cert_sans, "k8s.example.com") }
              </fieldset>
              <fieldset>
                <legend>{"Load balancer"}</legend>
                { self.field(&by_path, "spec.loadBalancer.type", "Type", html! {
                    <select id="spec.loadBalancer.type" onchange={link.callback(|e: Event| Msg::Lb(select_value(&e)))}>
                      { for state::LB_TYPES.iter().map(|t| html! { <option value={state::lb_name(*t)} selected={*t == f.lb}>{ lb_label(*t) }</option> }) }
                    </select>
                }) }
                if f.shows_interface() {
                    { text(Field::Interface, "spec.loadBalancer.interface", "Interface", &f.interface, "eth0") }
                }
                if f.shows_vrrp() {
                    { text(Field::Vrid, "spec.loadBalancer.virtualRouterId", "VRRP router id (1-255)", &f.vrid, "") }
                    { text(Field::AuthPass, "spec.loadBalancer.authPass", "VRRP password (optional, at most 8)", &f.auth_pass, "") }
                }
              </fieldset>
              <fieldset>
                <legend>{"etcd and networks"}</legend>
                { self.field(&by_path, "spec.etcd.type", "etcd", html! {
                    <select id="spec.etcd.type" onchange={link.callback(|e: Event| Msg::Etcd(select_value(&e)))}>
                      <option value="stacked" selected={f.etcd == EtcdType::Stacked}>{"stacked (on the control planes)"}</option>
                      <option value="external" selected={f.etcd == EtcdType::External}>{"external (etcd nodes)"}</option>
                    </select>
                }) }
                { text(Field::PodSubnet, "spec.networking.podSubnet", "Pod subnet", &f.pod_subnet, "10.244.0.0/16") }
                { text(Field::ServiceSubnet, "spec.networking.serviceSubnet", "Service subnet", &f.service_subnet, "") }
                { text(Field::DnsDomain, "spec.networking.dnsDomain", "DNS domain", &f.dns_domain, "") }
              </fieldset>
              <fieldset>
                <legend>{"PKI"}</legend>
                { self.field(&by_path, "spec.pki.keyAlgorithm", "Key algorithm", html! {
                    <select id="spec.pki.keyAlgorithm" onchange={link.callback(|e: Event| Msg::Key(select_value(&e)))}>
                      { for state::KEY_ALGORITHMS.iter().map(|k| html! { <option value={state::key_name(*k)} selected={*k == f.key_algorithm}>{ state::key_name(*k) }</option> }) }
                    </select>
                }) }
                { text(Field::CertDays, "spec.pki.certValidityDays", "Certificate lifetime (days)", &f.cert_days, "") }
                { text(Field::CaDays, "spec.pki.caValidityDays", "CA lifetime (days)", &f.ca_days, "") }
              </fieldset>
              { self.nodes_view(ctx, &by_path) }
            </form>
            <section class="results" aria-label="Results">
              <div id="status" role="status" aria-live="polite">
                { summary(errors, warnings) }
                { &self.status }
              </div>
              <div id="update-ms" hidden={true} data-ms={format!("{:.3}", self.last_update_ms)}></div>
              <div class="actions">
                <button id="generate" type="button" disabled={self.checked.plan.is_none() || self.pending.is_some()} onclick={link.callback(|_| Msg::Generate)}>{"Generate keys and download the bundle"}</button>
                <button id="export" type="button" onclick={link.callback(|_| Msg::Export)}>{"Export topology.yaml"}</button>
              </div>
              if let Some(p) = &self.pending {
                <p class="keys">
                  <label for="key-progress">{ format!("RSA keys made in {} background workers: {} of {}{}", browser::key_workers(), p.done, p.total, p.time_left()) }</label>
                  <progress id="key-progress" max={p.total.to_string()} value={p.done.to_string()}></progress>
                  <button id="cancel-keys" type="button" onclick={link.callback(|_| Msg::CancelKeys)}>{"Cancel"}</button>
                </p>
              }
              { self.diagram_view(ctx) }
              { self.what_if_view(ctx) }
              { self.findings_view(ctx) }
              { self.files_view(ctx) }
              { self.import_view(ctx) }
            </section>
          </main>
        </>
        }
    }
}

/// The state of the topology in plain words.
fn summary(errors: usize, warnings: usize) -> String {
    let count = |n: usize, what: &str| match n {
        1 => format!("one {what}"),
        n => format!("{n} {what}s"),
    };
    match (errors, warnings) {
        (0, 0) => "Valid: nothing to fix. ".to_string(),
        (0, w) => format!("Valid, with {} to look at. ", count(w, "warning")),
        (e, 0) => format!(
            "{}: fix {} to generate. ",
            count(e, "error"),
            if e == 1 { "it" } else { "them" }
        ),
        (e, w) => format!(
            "{} and {}: fix the errors to generate. ",
            count(e, "error"),
            count(w, "warning")
        ),
    }
}

/// The loss a diagram button stands for (the element or its nearest ancestor with
/// `data-loss`), and the button's id.
fn picked(target: Option<web_sys::EventTarget>) -> Option<(Selection, Option<String>)> {
    let el = target?.dyn_into::<web_sys::Element>().ok()?;
    let button = el.closest("[data-loss]").ok()??;
    let pick = Selection::parse(
        &button.get_attribute("data-loss")?,
        &button.get_attribute("data-name")?,
    )?;
    Some((pick, Some(button.id()).filter(|id| !id.is_empty())))
}

fn loss_label(r: &hagen_core::whatif::Scenario) -> String {
    let what = match r.loss {
        hagen_core::whatif::Loss::Node => "node",
        hagen_core::whatif::Loss::Zone => "zone",
        hagen_core::whatif::Loss::VipHolder => "VIP holder",
    };
    format!("{what} {}", r.name)
}

fn lb_label(t: LbType) -> &'static str {
    match t {
        LbType::HaproxyKeepalived => "haproxy + keepalived (VIP)",
        LbType::Keepalived => "keepalived only (VIP)",
        LbType::NginxLocal => "nginx on every node (no VIP)",
        LbType::KubeVip => "kube-vip (VIP)",
        LbType::External => "external load balancer",
    }
}

impl App {
    fn import(&mut self, text: &str) -> bool {
        match Form::import(text) {
            Ok(form) => {
                self.form = form;
                self.status = "Topology imported.".into();
                self.recompute();
            }
            Err(e) => self.status = format!("Import failed: {e}"),
        }
        true
    }

    /// One labelled field with its findings below it.
    fn field(
        &self,
        by_path: &BTreeMap<String, Vec<&Diagnostic>>,
        path: &'static str,
        label: &'static str,
        control: Html,
    ) -> Html {
        let found = by_path.get(path);
        html! {
            <div class={classes!("field", found.map(|_| "has-finding"))}>
                <label for={path}>{ label }</label>
                { control }
                <div id={format!("{path}-msg")} class="field-msg" role={found.map(|_| "alert")}>
                    { for found.into_iter().flatten().map(|d| html! {
                        <p class={d.severity.as_str()}>{ format!("{} [{}] {}", d.severity.as_str(), d.rule.code, d.message) }</p>
                    }) }
                </div>
            </div>
        }
    }

    fn nodes_view(
        &self,
        ctx: &Context<Self>,
        by_path: &BTreeMap<String, Vec<&Diagnostic>>,
    ) -> Html {
        let link = ctx.link();
        html! {
          <fieldset class="nodes">
            <legend>{"Nodes"}</legend>
            <div class="node-list">
            <table>
              <thead><tr>
                <th scope="col">{"Name"}</th><th scope="col">{"Address"}</th><th scope="col">{"Zone"}</th><th scope="col">{"Interface"}</th>
                <th scope="col">{"Roles"}</th><th scope="col"><span class="visually-hidden">{"Actions"}</span></th>
              </tr></thead>
              <tbody>
              { for self.form.nodes.iter().enumerate().map(|(i, n)| {
                  let cell = |field: NodeField, key: &str, value: &str, label: &str| {
                      let path = format!("spec.nodes[{i}].{key}");
                      let found = by_path.get(&path).map(|v| v.iter().map(|d| format!("{} [{}] {}", d.severity.as_str(), d.rule.code, d.message)).collect::<Vec<_>>().join(" "));
                      html! {
                        <td data-label={label.to_string()}>
                          <input id={path.clone()} type="text" value={value.to_string()} aria-label={format!("{label} of node {}", i + 1)}
                              aria-invalid={found.is_some().to_string()} aria-describedby={format!("{path}-msg")}
                              oninput={link.callback(move |e: InputEvent| Msg::SetNode(i, field, input_value(&e)))} />
                          <div id={format!("{path}-msg")} class="field-msg" role={found.as_ref().map(|_| "alert")}>{ found.clone().unwrap_or_default() }</div>
                        </td>
                      }
                  };
                  let role = |r: RoleBox, on: bool, label: &'static str| html! {
                      <label class="role"><input type="checkbox" checked={on} onchange={link.callback(move |e: Event| Msg::Role(i, r, checked_value(&e)))} />{ label }</label>
                  };
                  let row_msgs: Vec<String> = by_path.iter().filter(|(p, _)| **p == format!("spec.nodes[{i}]") || p.starts_with(&format!("spec.nodes[{i}].roles"))).flat_map(|(_, v)| v.iter().map(|d| format!("[{}] {}", d.rule.code, d.message))).collect();
                  html! {
                    <tr>
                      { cell(NodeField::Name, "name", &n.name, "Name") }
                      { cell(NodeField::Address, "address", &n.address, "Address") }
                      { cell(NodeField::Zone, "zone", &n.zone, "Zone") }
                      { cell(NodeField::Interface, "interface", &n.interface, "Interface") }
                      <td data-label="Roles">
                        <fieldset class="roles" aria-label={format!("Roles of node {}", i + 1)}>
                          { role(RoleBox::ControlPlane, n.control_plane, "control plane") }
                          { role(RoleBox::Worker, n.worker, "worker") }
                          { role(RoleBox::Etcd, n.etcd, "etcd") }
                        </fieldset>
                        <div class="field-msg" role={(!row_msgs.is_empty()).then_some("alert")}>{ row_msgs.join(" ") }</div>
                      </td>
                      <td class="row-actions">
                        <button type="button" aria-label={format!("Duplicate node {}", i + 1)} onclick={link.callback(move |_| Msg::DuplicateNode(i))}>{"Duplicate"}</button>
                        <button type="button" aria-label={format!("Remove node {}", i + 1)} onclick={link.callback(move |_| Msg::RemoveNode(i))}>{"Remove"}</button>
                      </td>
                    </tr>
                  }
              }) }
              </tbody>
            </table>
            </div>
            <button id="add-node" type="button" onclick={link.callback(|_| Msg::AddNode)}>{"Add node"}</button>
          </fieldset>
        }
    }

    fn findings_view(&self, ctx: &Context<Self>) -> Html {
        let link = ctx.link();
        if self.checked.diagnostics.is_empty() {
            return html! { <section id="findings" aria-label="Findings"><h2>{"Findings"}</h2><p>{"No problems found."}</p></section> };
        }
        html! {
          <section id="findings" aria-label="Findings">
            <h2>{"Findings"}</h2>
            <ul>
            { for self.checked.diagnostics.iter().map(|d| {
                let code = d.rule.code;
                html! {
                  <li class={d.severity.as_str()}>
                    <strong>{ format!("{} [{}] ", d.severity.as_str(), code) }</strong>{ &d.message }
                    if let Some(help) = &d.help { <div class="help">{ format!("Fix: {help}") }</div> }
                    <button type="button" class="link" aria-expanded={(self.explain == Some(code)).to_string()} onclick={link.callback(move |_| Msg::Explain(code))}>{"Why?"}</button>
                    if self.explain == Some(code) { <pre class="explain">{ d.rule.explain }</pre> }
                  </li>
                }
            }) }
            </ul>
          </section>
        }
    }

    fn diagram_view(&self, ctx: &Context<Self>) -> Html {
        let Some(svg) = &self.diagram else {
            return html! { <section id="topology" aria-label="Topology diagram"><h2>{"Topology"}</h2><p>{"Fix the errors to see the diagram."}</p></section> };
        };
        let onclick = ctx
            .link()
            .batch_callback(|e: MouseEvent| picked(e.target()).map(|(p, id)| Msg::Lose(p, id)));
        let onkeydown = ctx.link().batch_callback(|e: KeyboardEvent| {
            let key = e.key();
            if key != "Enter" && key != " " {
                return None;
            }
            let (p, id) = picked(e.target())?;
            e.prevent_default();
            Some(Msg::Lose(p, id))
        });
        html! {
          <section id="topology" aria-label="Topology diagram">
            <h2>{"Topology"}</h2>
            <p class="note" id="diagram-help">{"Click a node, a zone or the endpoint (the VIP holder), or Tab to it and press Enter, to see what its loss leaves; again to bring it back."}</p>
            <div id="diagram" class="diagram" {onclick} {onkeydown}>
              { Html::from_html_unchecked(AttrValue::from(svg.clone())) }
            </div>
          </section>
        }
    }

    fn what_if_view(&self, ctx: &Context<Self>) -> Html {
        let Some(rows) = &self.checked.what_if else {
            return html! {};
        };
        let link = ctx.link();
        html! {
          <section id="what-if" aria-label="What if">
            <h2>{"What survives what"}</h2>
            <table>
              <thead><tr><th scope="col">{"If we lose"}</th><th scope="col">{"etcd left / quorum"}</th><th scope="col">{"API servers left"}</th><th scope="col">{"Endpoint"}</th><th scope="col">{"Survives"}</th></tr></thead>
              <tbody>
              { for rows.iter().map(|r| {
                  let selected = self.lost.as_ref().is_some_and(|l| l.is(r));
                  let pick = Selection::of(r);
                  html! {
                  <tr class={classes!(if r.survives { "ok" } else { "lost" }, selected.then_some("selected"))} aria-selected={selected.to_string()}
                      data-loss={pick.loss_str()} data-name={r.name.clone()}>
                    <td>
                      if self.diagram.is_some() {
                        <button type="button" class="link" aria-pressed={selected.to_string()} onclick={link.callback(move |_| Msg::Lose(pick.clone(), None))}>{ loss_label(r) }</button>
                      } else {
                        { loss_label(r) }
                      }
                    </td>
                    <td>{ format!("{}/{}", r.etcd_left, r.etcd_quorum) }</td>
                    <td>{ r.api_servers_left }</td>
                    <td>{ &r.note }</td>
                    <td>{ if r.survives { "yes" } else { "NO" } }</td>
                  </tr>
              }}) }
              </tbody>
            </table>
          </section>
        }
    }

    fn files_view(&self, ctx: &Context<Self>) -> Html {
        let link = ctx.link();
        let Some(bundle) = &self.preview else {
            return html! { <section id="files" aria-label="Files"><h2>{"Files"}</h2><p>{"Fix the errors to see the files."}</p></section> };
        };
        let mut groups: BTreeMap<String, Vec<&String>> = BTreeMap::new();
        for (path, _) in bundle.iter() {
            let group = path
                .strip_prefix("nodes/")
                .and_then(|p| p.split('/').next())
                .unwrap_or("bundle")
                .to_string();
            groups.entry(group).or_default().push(path);
        }
        let selected = self
            .selected
            .as_ref()
            .and_then(|p| bundle.get(p).map(|f| (p, f)));
        html! {
          <section id="files" aria-label="Files">
            <h2>{"Files"}</h2>
            <p class="note">{"Keys and certificates are made when you generate; the previews show every other file."}</p>
            <div class="files">
              <nav aria-label="File tree">
              { for groups.iter().map(|(group, paths)| html! {
                  <details open={true}>
                    <summary>{ group }</summary>
                    <ul>
                    { for paths.iter().map(|p| {
                        let path = (*p).clone();
                        let short = path.strip_prefix(&format!("nodes/{group}/")).unwrap_or(&path).to_string();
                        let current = self.selected.as_deref() == Some(path.as_str());
                        html! { <li><button type="button" class="link" aria-current={current.then_some("true")} onclick={link.callback(move |_| Msg::Select(path.clone()))}>{ short }</button></li> }
                    }) }
                    </ul>
                  </details>
              }) }
              </nav>
              if let Some((path, file)) = selected {
                <figure>
                  <figcaption>{ format!("{path} (mode {:04o})", file.mode) }</figcaption>
                  <pre id="preview" tabindex="0">{ String::from_utf8_lossy(&file.bytes).into_owned() }</pre>
                </figure>
              }
            </div>
          </section>
        }
    }

    fn import_view(&self, ctx: &Context<Self>) -> Html {
        let link = ctx.link();
        html! {
          <section id="import" aria-label="Import">
            <h2>{"Import a topology.yaml"}</h2>
            <label for="import-file">{"From a file"}</label>
            <input id="import-file" type="file" accept=".yaml,.yml" onchange={link.batch_callback(|e: Event| {
                e.target().and_then(|t| t.dyn_into::<HtmlInputElement>().ok()).and_then(|i| i.files()).and_then(|f| f.get(0)).map(Msg::ImportFile)
            })} />
            <label for="import-text">{"Or paste it"}</label>
            <textarea id="import-text" rows="6" oninput={link.callback(|e: InputEvent| Msg::ImportText(e.target().and_then(|t| t.dyn_into::<HtmlTextAreaElement>().ok()).map(|t| t.value()).unwrap_or_default()))} />
            <button id="import-button" type="button" onclick={link.callback(|_| Msg::Import)}>{"Import"}</button>
          </section>
        }
    }

    /// Starts making the bundle from the topology as it is now. ECDSA keys take
    /// microseconds and are made right here; RSA keys are searched for in the key
    /// workers (one per core, started with the page), and [`Msg::RsaKeys`] finishes.
    fn generate(&mut self, ctx: &Context<Self>) -> String {
        let Some(plan) = self.checked.plan.clone() else {
            return "Fix the errors first.".into();
        };
        if self.pending.is_some() {
            return "Already making keys.".into();
        }
        let what_if = self.checked.what_if.clone().unwrap_or_default();
        let started_ms = browser::now_ms();
        let Some(bits) = hagen_core::pki::keys::rsa_bits(plan.key_algorithm) else {
            return self.finish(&plan, &self.yaml.text.clone(), &what_if, None, started_ms);
        };
        let total = hagen_core::pki::new_keys_needed(&plan, &hagen_core::pki::Existing::none());
        let mut seeds = vec![0u8; total * 32];
        hagen_core::pki::Entropy::fill(&mut browser::BrowserEntropy, &mut seeds);
        let link = ctx.link().clone();
        let progress = ctx
            .link()
            .callback(|(done, total)| Msg::KeyProgress(done, total));
        wasm_bindgen_futures::spawn_local(async move {
            let keys = browser::rsa_keys(bits as u32, &seeds, progress).await;
            link.send_message(Msg::RsaKeys(keys));
        });
        self.pending = Some(Pending {
            plan,
            yaml: self.yaml.text.clone(),
            what_if,
            done: 0,
            total: total as u32,
            started_ms,
        });
        format!("Making {total} RSA-{bits} keys; the page stays usable meanwhile.")
    }

    /// Makes the PKI (with the workers' RSA keys, if any), assembles the bundle exactly as
    /// `hagen render` does, and offers it as a zip. The keys exist only in this page's
    /// memory until then.
    fn finish(
        &mut self,
        plan: &hagen_core::plan::Plan,
        yaml: &str,
        what_if: &[hagen_core::whatif::Scenario],
        rsa_keys: Option<&[Vec<u8>]>,
        started_ms: f64,
    ) -> String {
        let options = hagen_core::pki::Options {
            rsa_keys,
            ..hagen_core::pki::Options::default()
        };
        let pki = match hagen_core::pki::generate_with(
            plan,
            &hagen_core::pki::Existing::none(),
            &mut browser::BrowserEntropy,
            browser::unix_seconds(),
            &options,
        ) {
            Ok(p) => p,
            Err(e) => return format!("Key generation failed: {e}"),
        };
        let source = SourceFile::new("topology.yaml", yaml.to_string());
        let bundle = match hagen_core::assemble(&source, plan, what_if, &pki) {
            Ok(b) => b,
            Err(e) => return format!("Rendering failed: {e}"),
        };
        let zip = hagen_core::zip::bundle_zip(&bundle, "hagen-bundle", &[]);
        let seconds = (browser::now_ms() - started_ms) / 1000.0;
        // Previews now show this bundle's token and CA hash.
        self.join = pki.join;
        self.recompute();
        match browser::download("hagen-bundle.zip", &zip, "application/zip") {
            Ok(()) => format!(
                "Generated {} files ({} keys and certificates) in {seconds:.1} s: hagen-bundle.zip.",
                bundle.len(),
                pki.files.len()
            ),
            Err(e) => format!("Download failed: {e}"),
        }
    }
}
