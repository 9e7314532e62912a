# Grenier as a Nomad system job: one storage node on every Nomad client that declares the host
# volumes below and a zone in its client meta. On each such client (client stanza of its agent config):
#
#   host_volume "grenier-meta" { path = "/srv/grenier/meta" }   # SSD if there is one (LMDB)
#   host_volume "grenier-data" { path = "/srv/grenier/data" }   # the big disk
#   meta { grenier_zone = "home-a" }                            # one zone per home/site
#
# and the directories owned by the user `grenier`, mode 0700. The secrets live in Nomad Variables:
#   nomad var put nomad/jobs/grenier rpc_secret=$(openssl rand -hex 32) \
#     admin_token=$(openssl rand -base64 32) metrics_token=$(openssl rand -base64 32)
# The job starts the nodes; the layout (which node is in which zone, with what capacity) is still
# given once with `grenier layout assign -z <zone> -c <capacity> <node id>` and `grenier layout apply`.
# Upgrades roll one node at a time (update block) and wait for /health: see README "Operations".

job "grenier" {
  type        = "system"
  datacenters = ["*"]

  constraint {
    attribute = "${meta.grenier_zone}"
    operator  = "is_set"
  }

  update {
    max_parallel     = 1
    min_healthy_time = "30s"
    healthy_deadline = "5m"
  }

  group "storage" {
    volume "meta" {
      type      = "host"
      source    = "grenier-meta"
      read_only = false
    }

    volume "data" {
      type      = "host"
      source    = "grenier-data"
      read_only = false
    }

    network {
      port "s3" {
        static = 3900
      }
      port "rpc" {
        static = 3901
      }
      port "web" {
        static = 3902
      }
      port "admin" {
        static = 3903
      }
    }

    service {
      name     = "grenier-s3"
      provider = "nomad"
      port     = "s3"
    }

    service {
      name     = "grenier-admin"
      provider = "nomad"
      port     = "admin"

      # Readiness: a quorum of peers is connected for every partition (503 with a reason otherwise).
      check {
        name     = "ready"
        type     = "http"
        path     = "/health"
        interval = "10s"
        timeout  = "2s"
      }

      # Liveness: the process answers. Three misses in a row restart the task (a hung node);
      # a node that is alive but without its peers is left alone.
      check {
        name     = "live"
        type     = "http"
        path     = "/health/live"
        interval = "10s"
        timeout  = "2s"

        check_restart {
          limit = 3
          grace = "60s"
        }
      }
    }

    restart {
      attempts = 10
      interval = "30m"
      delay    = "10s"
      mode     = "delay"
    }

    task "grenier" {
      driver       = "exec"
      user         = "grenier"
      kill_signal  = "SIGTERM"
      kill_timeout = "30s"

      config {
        command = "/usr/local/bin/grenier"
        args    = ["server", "-c", "local/grenier.toml"]
      }

      volume_mount {
        volume      = "meta"
        destination = "/var/lib/grenier/meta"
      }

      volume_mount {
        volume      = "data"
        destination = "/var/lib/grenier/data"
      }

      env {
        GRENIER_LOG = "info"
      }

      template {
        destination = "secrets/rpc_secret"
        perms       = "600"
        data        = "{{ with nomadVar \"nomad/jobs/grenier\" }}{{ .rpc_secret }}{{ end }}"
      }

      template {
        destination = "secrets/admin_token"
        perms       = "600"
        data        = "{{ with nomadVar \"nomad/jobs/grenier\" }}{{ .admin_token }}{{ end }}"
      }

      template {
        destination = "secrets/metrics_token"
        perms       = "600"
        data        = "{{ with nomadVar \"nomad/jobs/grenier\" }}{{ .metrics_token }}{{ end }}"
      }

      # The node config. Nodes are connected once (`grenier node connect <id>@<ip>:3901`) and
      # then remember their peers in their metadata.
      template {
        destination = "local/grenier.toml"
        perms       = "644"
        change_mode = "restart"
        data        = <<EOF
metadata_dir = "/var/lib/grenier/meta"
data_dir = "/var/lib/grenier/data"
metadata_auto_snapshot_interval = "6h"
metadata_snapshots_dir = "/var/lib/grenier/data/metadata-snapshots"
replication_factor = 3
consistency_mode = "consistent"
rpc_bind_addr = "[::]:3901"
rpc_public_addr = "{{ env "NOMAD_IP_rpc" }}:3901"
rpc_secret_file = "{{ env "NOMAD_SECRETS_DIR" }}/rpc_secret"

[s3_api]
api_bind_addr = "[::]:3900"
s3_region = "garage"
root_domain = ".s3.example.org"

[s3_web]
bind_addr = "[::]:3902"
root_domain = ".web.example.org"

[admin]
api_bind_addr = "[::]:3903"
admin_token_file = "{{ env "NOMAD_SECRETS_DIR" }}/admin_token"
metrics_token_file = "{{ env "NOMAD_SECRETS_DIR" }}/metrics_token"
EOF
      }

      resources {
        cpu    = 500
        # The node caps V8's heap at 384 MiB (GRENIER_HEAP_MB) and streams objects in blocks.
        memory     = 640
        memory_max = 1024
      }
    }
  }
}
