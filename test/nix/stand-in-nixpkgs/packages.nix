# Stand-in packages: thin derivations around the Debian binaries of the test machine.
{
  system,
  hostBin,
  qemuTcg,
}:
let
  sh = "/bin/sh";
  # Builders run with the machine's own tools (this is a stand-in, impure on purpose).
  path = "${hostBin}:/bin";
  # A package whose bin/ holds symlinks to the named host binaries.
  hostTools =
    name: tools: mainProgram:
    derivation {
      inherit name system;
      PATH = path;
      builder = sh;
      args = [
        "-c"
        ''
          mkdir -p $out/bin
          for t in ${builtins.concatStringsSep " " tools}; do ln -s ${hostBin}/$t $out/bin/$t; done
        ''
      ];
    }
    // {
      meta = if mainProgram == null then { } else { inherit mainProgram; };
    };
in
rec {
  socat = hostTools "socat" [ "socat" ] "socat";
  jq = hostTools "jq" [ "jq" ] "jq";
  iproute2 = hostTools "iproute2" [ "ip" ] "ip";
  openssh = hostTools "openssh" [ "ssh" ] "ssh";
  qemu-utils = hostTools "qemu-utils" [ "qemu-img" ] null;
  coreutils = hostTools "coreutils" [
    "basename" "cat" "chmod" "cp" "cut" "date" "dd" "dirname" "echo" "env" "false" "head" "id"
    "ln" "ls" "mkdir" "mktemp" "mv" "printf" "readlink" "realpath" "rm" "seq" "sleep" "sort"
    "stat" "sync" "tail" "tee" "test" "timeout" "touch" "tr" "true" "uniq" "wc"
  ] null;
  nixfmt = hostTools "nixfmt-stand-in" [ "true" ] "true";
  swtpm = hostTools "swtpm" [ "swtpm" ] "swtpm";

  # OVMF as nixpkgs lays it out (fd/FV/OVMF_{CODE,VARS}.fd, passthru firmware and variables),
  # linking Debian's 2 MB build (package ovmf), which matches nixpkgs' default size.
  OVMF =
    let
      fd = derivation {
        name = "OVMF-fd-stand-in";
        inherit system;
        PATH = path;
        builder = sh;
        args = [
          "-c"
          "mkdir -p $out/FV && for f in CODE VARS; do ln -s /usr/share/OVMF/OVMF_$f.fd $out/FV/OVMF_$f.fd; done"
        ];
      };
    in
    {
      inherit fd;
      firmware = "${fd}/FV/OVMF_CODE.fd";
      variables = "${fd}/FV/OVMF_VARS.fd";
    };

  # virtiofsd is not packaged for this machine's Debian: a program of the right name that only
  # says so, for evaluations and builds of the units that run it (never run by a test).
  virtiofsd =
    derivation {
      name = "virtiofsd-stand-in";
      inherit system;
      PATH = path;
      builder = sh;
      args = [
        "-c"
        "mkdir -p $out/bin && printf '#!/bin/sh\\necho virtiofsd stand-in: not packaged here >&2\\nexit 1\\n' > $out/bin/virtiofsd && chmod +x $out/bin/virtiofsd"
      ];
    }
    // {
      meta.mainProgram = "virtiofsd";
    };

  # QEMU as `bin/qemu-kvm` (nixpkgs' mainProgram for qemu_kvm), through the TCG wrapper.
  qemu_kvm =
    derivation {
      name = "qemu-kvm-stand-in";
      inherit system;
      PATH = path;
      builder = sh;
      args = [
        "-c"
        "mkdir -p $out/bin && cp ${qemuTcg} $out/bin/qemu-kvm && chmod +x $out/bin/qemu-kvm && ln -s ${hostBin}/qemu-img $out/bin/qemu-img"
      ];
    }
    // {
      meta.mainProgram = "qemu-kvm";
    };

  runCommand =
    name: env: command:
    derivation (
      { PATH = path; }
      // env
      // {
        inherit name system;
        builder = sh;
        args = [
          "-c"
          command
        ];
      }
    );

  # As nixpkgs: bash with errexit/nounset/pipefail, PATH from runtimeInputs, shellcheck at build.
  writeShellApplication =
    {
      name,
      text,
      runtimeInputs ? [ ],
      ...
    }:
    derivation {
      inherit name system text;
      PATH = path;
      passAsFile = [ "text" ];
      runtimePath = builtins.concatStringsSep ":" (map (p: "${p}/bin") runtimeInputs);
      builder = sh;
      args = [
        "-c"
        ''
          set -e
          mkdir -p $out/bin
          f=$out/bin/${name}
          {
            echo '#!/bin/bash'
            echo 'set -o errexit'
            echo 'set -o nounset'
            echo 'set -o pipefail'
            echo "export PATH=\"$runtimePath:\$PATH\""
            cat "$textPath"
          } > "$f"
          chmod +x "$f"
          if [ -x ${hostBin}/shellcheck ]; then ${hostBin}/shellcheck "$f"; fi
        ''
      ];
    }
    // {
      meta.mainProgram = name;
    };
}
