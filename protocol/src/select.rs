//! Which image of a finished build a router should flash, as the existing
//! clients choose it.

use crate::upstream::Image;

/// Keeps the images whose filesystem is the router's `rootfs_type`; on
/// x86, armsr and loongarch prefers `combined-efi` when the router booted
/// by EFI, else `combined`; elsewhere `sysupgrade`, then `combined`, `sdcard`.
pub fn upgrade_image<'a>(images: &'a [Image], target: &str, rootfs_type: &str, efi: bool) -> Option<&'a Image> {
    let family = target.split('/').next().unwrap_or("");
    let order: &[&str] = if matches!(family, "x86" | "armsr" | "loongarch64" | "loongarch") {
        if efi {
            &["combined-efi", "combined"]
        } else {
            &["combined", "combined-efi"]
        }
    } else {
        &["sysupgrade", "combined", "sdcard"]
    };
    order.iter().find_map(|kind| {
        images.iter().find(|i| i.kind == *kind && i.filesystem.as_deref() == Some(rootfs_type))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn img(kind: &str, fs: &str) -> Image {
        Image { filesystem: Some(fs.into()), name: format!("{fs}-{kind}.bin"), sha256: String::new(), sha256_unsigned: String::new(), kind: kind.into() }
    }

    #[test]
    fn picks_like_the_clients() {
        let filogic = [img("factory", "squashfs"), img("sysupgrade", "squashfs"), img("kernel", "initramfs")];
        assert_eq!(upgrade_image(&filogic, "mediatek/filogic", "squashfs", false).unwrap().name, "squashfs-sysupgrade.bin");
        assert!(upgrade_image(&filogic, "mediatek/filogic", "ext4", false).is_none());
        let x86 = [img("combined", "ext4"), img("combined-efi", "ext4"), img("combined", "squashfs")];
        assert_eq!(upgrade_image(&x86, "x86/64", "ext4", true).unwrap().name, "ext4-combined-efi.bin");
        assert_eq!(upgrade_image(&x86, "x86/64", "ext4", false).unwrap().name, "ext4-combined.bin");
        assert_eq!(upgrade_image(&x86, "x86/64", "squashfs", true).unwrap().name, "squashfs-combined.bin");
    }
}
