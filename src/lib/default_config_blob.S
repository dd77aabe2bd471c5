/* The embedded default configuration: config/default.reg, byte for byte. */
    .section .rodata
    .global smss_default_reg_blob
    .global smss_default_reg_blob_end
    .balign 16
smss_default_reg_blob:
    .incbin DEFAULT_REG
smss_default_reg_blob_end:
    .byte 0
    .section .note.GNU-stack,"",@progbits
