-- Every table of a domain carries the domain's name, so domains sharing one
-- database never collide; indexes too (their names are per database).
ALTER TABLE peers RENAME TO ethereum_peers;
ALTER TABLE discoveries RENAME TO ethereum_discoveries;
ALTER TABLE observations RENAME TO ethereum_observations;
ALTER TABLE subscription_changes RENAME TO ethereum_subscription_changes;
ALTER TABLE ip_info RENAME TO ethereum_ip_info;
ALTER TABLE estimates RENAME TO ethereum_estimates;

DROP INDEX peers_network_last_seen;
DROP INDEX peers_ip;
DROP INDEX discoveries_time;
DROP INDEX observations_peer_time;
DROP INDEX observations_network_time;
DROP INDEX subscription_changes_peer_time;
DROP INDEX subscription_changes_network_time;
CREATE INDEX ethereum_peers_network_last_seen ON ethereum_peers (network, last_seen);
CREATE INDEX ethereum_peers_ip ON ethereum_peers (ip);
CREATE INDEX ethereum_discoveries_time ON ethereum_discoveries (time);
CREATE INDEX ethereum_observations_peer_time ON ethereum_observations (network, peer_id, time);
CREATE INDEX ethereum_observations_network_time ON ethereum_observations (network, time);
CREATE INDEX ethereum_subscription_changes_peer_time ON ethereum_subscription_changes (network, peer_id, time);
CREATE INDEX ethereum_subscription_changes_network_time ON ethereum_subscription_changes (network, time);
