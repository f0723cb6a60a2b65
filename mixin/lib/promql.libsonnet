// PromQL fragments shared by rules, alerts and dashboards, built from the mixin's _config.
//   local promql = (import 'lib/promql.libsonnet')($._config);
function(config) {
  // The labels that identify a VRRP group fleet-wide: routers that share a VRID, an address
  // family and a VIP set (and a cluster, when one Prometheus sees several).
  groupLabels:: std.join(', ', (if config.showMultiCluster then [config.clusterLabel] else [])
                               + ['vrid', 'family', 'vips']),
  // The labels havip_vrrp_instance_info lends a per-instance vector to place it in its group.
  groupInfoLabels:: 'vrid, family, vips',
  // One VRRP instance on one scraped router.
  instanceKey:: 'job, instance, vrrp_instance',

  // `name{matchers}` with the mixin's havipSelector first; no braces when there is no matcher.
  selector(name, matchers=[])::
    local all = std.filter(function(m) m != '', [config.havipSelector] + matchers);
    if all == [] then name else '%s{%s}' % [name, std.join(', ', all)],

  runbookURL(alert):: config.runbookURLPattern % std.asciiLower(alert),
}
