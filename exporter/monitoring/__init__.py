"""longrun's own monitoring, rendered: Prometheus rules and their unit tests, the
Alertmanager routes and the Grafana dashboards, from the templates beside this
module, with a deployment's selector, runbook base and datasource applied
(``longrun monitoring render``). The files shipped in prometheus/, alertmanager/
and grafana/ are the default rendering."""
