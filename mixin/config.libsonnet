// The knobs of the havip mixin. Override them when you import it, e.g.
//   (import 'havip-mixin/mixin.libsonnet') + { _config+:: { havipSelector: 'job="vrrp"' } }
// The committed alerts/ and dashboards/ files are these defaults rendered.
{
  _config+:: {
    // Matchers added to every selector of a havip series in rules and alerts, e.g.
    // 'job="havip"' or 'cluster="eu1"'. Empty: any job (havip's metric names are its own).
    havipSelector: '',
    // The scrape jobs of havip, for the alerts built on `up` (which every target has).
    jobSelector: 'job=~".*havip.*"',

    // When one Prometheus (Thanos, Mimir) sees several clusters, VRRP groups are also told
    // apart by this label, and the dashboards get a cluster variable.
    clusterLabel: 'cluster',
    showMultiCluster: false,

    // The window of the rate() that counts a group's received advertisements and a master's
    // sent ones: a few advertisement intervals, and at least four scrape intervals.
    rateInterval: '2m',

    // Where each alert's runbook_url points; %s is the alert name in lower case.
    runbookURLPattern: 'https://github.com/havip/havip/blob/main/alerts/runbook.md#%s',

    // Dashboards: the first tag also names the dashboards' link menu.
    dashboardTags: ['havip', 'vrrp'],
    dashboardUIDs: {
      'havip-fleet-overview.json': 'havip-fleet',
      'havip-instance.json': 'havip-instance',
    },
    dashboardTitlePrefix: 'havip / ',
  },
}
