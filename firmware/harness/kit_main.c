/* Firmware entry point shared by every target: the HAL sets the board up, the harness talks. */
#include "kit_hal.h"
#include "kit_harness.h"

int main(void)
{
    kit_hal_init();
    kit_harness_init();
    kit_harness_run();
    return 0;
}
