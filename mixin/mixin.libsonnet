// The havip monitoring mixin: Prometheus recording rules and alerts, and Grafana dashboards.
//
//   prometheusRules     recording rules (rules/*.libsonnet)
//   prometheusAlerts    alerting rules (alerts/*.libsonnet)
//   grafanaDashboards   file name -> dashboard (dashboards/*.libsonnet)
//
// Each file below adds to one of the three with `+::`; adding an alert group or a dashboard
// is one new file and its line here (see README.md). scripts/render-mixin writes the defaults
// to alerts/havip.rules.yml and dashboards/*.json.
(import 'config.libsonnet')
+ (import 'rules/havip.libsonnet')
+ (import 'alerts/havip.libsonnet')
+ (import 'alerts/segment.libsonnet')
+ (import 'dashboards/fleet-overview.libsonnet')
+ (import 'dashboards/instance.libsonnet')
