# vmflake runtime: host directories shared into a guest, by virtiofs (a sandboxed virtiofsd per share) or 9p (QEMU's own); copied verbatim into the generated flake's modules/vmflake/.
#
# virtiofs: a socket unit per share listens on `/run/vmflake-virtiofs/<guest>.<tag>.sock`, owned
# by the guest's user, and starts `virtiofsd-<guest>.<tag>.service` when QEMU connects; virtiofsd
# runs as the guest's user and sees only its directory (read-only in its mount namespace for a
# read-only share, and with --readonly). 9p: QEMU itself serves the directory (virtio-9p), with
# the same read-only mount in the guest's unit. qemu.nix adds the devices after the others.
{
  config,
  lib,
  pkgs,
  utils,
  ...
}:
let
  cfg = config.vmflake;
  inherit (lib) mkOption types;
  exec = utils.escapeSystemdExecArgs;

  shareOptions = guestName: { name, ... }: {
    options = {
      source = mkOption {
        # Plain absolute paths: they reach QEMU's comma-separated options and BindPaths=.
        type = types.strMatching "(/[A-Za-z0-9._@+-]+)+";
        description = "The host directory shared.";
      };
      readOnly = mkOption {
        type = types.bool;
        default = false;
        description = "The guest may only read it; the host side enforces it too.";
      };
      protocol = mkOption {
        type = types.enum [
          "virtiofs"
          "9p"
        ];
        default = "virtiofs";
        description = "virtiofs (virtiofsd, fast) or 9p (QEMU's built-in virtio-9p, no daemon).";
      };
      socket = mkOption {
        type = types.strMatching "/run/[A-Za-z0-9._/-]+";
        default = "/run/vmflake-virtiofs/${guestName}.${name}.sock";
        description = "virtiofs only: the vhost-user socket QEMU connects to.";
      };
    };
  };

  unitName = guest: tag: "virtiofsd-${guest}.${tag}";
  virtiofs = g: lib.filterAttrs (_: s: s.protocol == "virtiofs") g.shares;
  ninep = g: lib.filterAttrs (_: s: s.protocol == "9p") g.shares;
  perShare =
    f:
    lib.concatMapAttrs (
      guest: g:
      lib.mapAttrs' (tag: s: lib.nameValuePair (unitName guest tag) (f guest g tag s)) (virtiofs g)
    ) cfg.guests;

  # The directory, and nothing else of the user's files, in a unit's mount namespace.
  bindSource =
    shares:
    let
      ro = lib.filterAttrs (_: s: s.readOnly) shares;
      rw = lib.filterAttrs (_: s: !s.readOnly) shares;
    in
    lib.optionalAttrs (ro != { }) { BindReadOnlyPaths = lib.mapAttrsToList (_: s: s.source) ro; }
    // lib.optionalAttrs (rw != { }) { BindPaths = lib.mapAttrsToList (_: s: s.source) rw; };

  sockets = perShare (
    guest: g: tag: s: {
      description = "virtiofs socket of share ${tag} of QEMU guest ${guest}";
      listenStreams = [ s.socket ];
      socketConfig = {
        # Only the guest's QEMU (its user) may connect.
        SocketUser = g.user;
        SocketGroup = g.user;
        SocketMode = "0600";
      };
    }
  );

  daemons = perShare (
    guest: g: tag: s: {
      description = "virtiofsd of share ${tag} of QEMU guest ${guest}";
      # Started by its socket when QEMU connects; it ends when QEMU closes the connection.
      restartIfChanged = false;
      serviceConfig =
        import ./confined.nix
        // bindSource { ${tag} = s; }
        // {
          # An empty /home (and /root): bound directories show through, nothing else.
          ProtectHome = "tmpfs";
          User = g.user;
          Group = g.user;
          # virtiofsd keeps a descriptor per inode the guest has open; --rlimit-nofile=0 leaves this
          # limit (set by systemd) as it is, since an unprivileged virtiofsd cannot raise it.
          LimitNOFILE = 1048576;
          ExecStart = exec (
            [
              (lib.getExe cfg.virtiofsdPackage)
              # The listening socket from the socket unit (systemd passes it as descriptor 3).
              "--fd=3"
              "--shared-dir=${s.source}"
              # systemd's mount namespace above is the sandbox; virtiofsd's own needs root or
              # user namespaces.
              "--sandbox=none"
              "--rlimit-nofile=0"
            ]
            ++ lib.optional s.readOnly "--readonly"
          );
        };
    }
  );

  guestDeps = lib.mapAttrs' (
    guest: g:
    let
      socketUnits = lib.mapAttrsToList (tag: _: "${unitName guest tag}.socket") (virtiofs g);
    in
    lib.nameValuePair "qemu-guest-${guest}" {
      requires = socketUnits;
      after = socketUnits;
      # 9p: QEMU opens the directories itself; "tmpfs" so that a directory under /home shows.
      serviceConfig = lib.mkIf (ninep g != { }) (
        bindSource (ninep g) // { ProtectHome = lib.mkForce "tmpfs"; }
      );
    }
  ) (lib.filterAttrs (_: g: g.shares != { }) cfg.guests);
in
{
  options.vmflake = {
    virtiofsdPackage = mkOption {
      type = types.package;
      default = pkgs.virtiofsd;
      defaultText = lib.literalExpression "pkgs.virtiofsd";
      description = "The virtiofsd that serves virtiofs shares.";
    };
    guests = mkOption {
      type = types.attrsOf (
        types.submodule (
          { name, ... }: {
            options.shares = mkOption {
              type = types.attrsOf (types.submodule (shareOptions name));
              default = { };
              description = "Host directories shared into the guest, by tag.";
            };
          }
        )
      );
    };
  };

  config = lib.mkIf cfg.enable {
    systemd.sockets = sockets;
    systemd.services = daemons // guestDeps;
    assertions = lib.concatLists (
      lib.mapAttrsToList (
        guest: g:
        lib.mapAttrsToList (tag: s: {
          # virtio-fs carries the tag in 36 bytes; "." separates guest and tag in unit names.
          assertion =
            builtins.match "[A-Za-z0-9][A-Za-z0-9_-]{0,35}" tag != null
            && !(lib.hasPrefix "/nix/store/" "${s.source}/");
          message = "vmflake.guests.${guest}.shares.${tag}: the tag must be 1-36 letters, digits, _ or - and the source outside the Nix store";
        }) g.shares
      ) cfg.guests
    );
  };
}
